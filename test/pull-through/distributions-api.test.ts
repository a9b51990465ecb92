import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'

const API = '/pulp/api/v1'

for (const d of dialects()) {
  describe(`distributions API (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    before(async () => {
      t = await startPulp({ dialect: d.name })
      await t.pulp.remotes.create({ name: 'up', url: 'http://example.org/' })
      await t.pulp.repositories.create({ id: 'repo' })
    })
    after(async () => { await t?.cleanup() })

    it('creates, reads, lists, updates and deletes a distribution', async () => {
      const res = await request(t.app).post(`${API}/distributions`).send({ name: 'one', base_path: 'mirrors/one', remote: 'up', repository: 'repo' })
      assert.equal(res.status, 201)
      assert.equal(res.body.name, 'one')
      assert.equal(res.body.base_path, 'mirrors/one')
      assert.equal(res.body.remote, 'up')
      assert.equal(res.body.repository, 'repo')
      assert.equal((await request(t.app).get(`${API}/distributions/one`).expect(200)).body.base_path, 'mirrors/one')
      assert.ok((await request(t.app).get(`${API}/distributions`).expect(200)).body.results.some((x: { name: string }) => x.name === 'one'))
      const patched = await request(t.app).patch(`${API}/distributions/one`).send({ base_path: 'mirrors/uno', repository: null })
      assert.equal(patched.status, 200)
      assert.equal(patched.body.base_path, 'mirrors/uno')
      assert.equal(patched.body.repository, null)
      assert.equal(patched.body.remote, 'up')
      await request(t.app).delete(`${API}/distributions/one`).expect(204)
      assert.equal((await request(t.app).get(`${API}/distributions/one`)).status, 404)
    })

    it('answers 409 for overlapping base paths, naming the other distribution', async () => {
      await t.pulp.distributions.create({ name: 'base', basePath: 'a/b' })
      for (const [name, basePath] of [['same', 'a/b'], ['outer', 'a'], ['inner', 'a/b/c']]) {
        const res = await request(t.app).post(`${API}/distributions`).send({ name, base_path: basePath })
        assert.equal(res.status, 409, basePath)
        assert.match(res.body.error.message, /distribution "base"/)
      }
      // Whole segments: "a/bc" and "a/b_" are neighbours, not nested.
      await request(t.app).post(`${API}/distributions`).send({ name: 'neighbour', base_path: 'a/bc' }).expect(201)
      await request(t.app).post(`${API}/distributions`).send({ name: 'neighbour2', base_path: 'a/b_' }).expect(201)
      await t.pulp.distributions.create({ name: 'moving', basePath: 'elsewhere' })
      const moved = await request(t.app).patch(`${API}/distributions/moving`).send({ base_path: 'a/b/deeper' })
      assert.equal(moved.status, 409)
      assert.match(moved.body.error.message, /distribution "base"/)
      // A distribution does not overlap itself.
      await request(t.app).patch(`${API}/distributions/base`).send({ base_path: 'a/b' }).expect(200)
    })

    it('answers 409 for a duplicate name', async () => {
      await t.pulp.distributions.create({ name: 'dupe', basePath: 'dupe1' })
      const res = await request(t.app).post(`${API}/distributions`).send({ name: 'dupe', base_path: 'dupe2' })
      assert.equal(res.status, 409)
      assert.match(res.body.error.message, /"dupe" already exists/)
    })

    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a leading slash', { name: 'x1', base_path: '/abs' }, /"base_path" must be relative/],
      ['a dot-dot segment', { name: 'x2', base_path: 'a/../b' }, /"base_path" may not contain a "\.\." segment/],
      ['a trailing slash', { name: 'x3', base_path: 'a/' }, /"base_path"/],
      ['a missing base path', { name: 'x4' }, /"base_path"/],
      ['an unknown remote', { name: 'x5', base_path: 'x5', remote: 'ghost' }, /remote "ghost" does not exist/],
      ['an unknown repository', { name: 'x6', base_path: 'x6', repository: 'ghost' }, /repository "ghost" does not exist/],
      ['a bad name', { name: '', base_path: 'x7' }, /"name"/],
      ['an unknown field', { name: 'x8', base_path: 'x8', remote_name: 'up' }, /"remoteName"|"remote_name"/]
    ]
    for (const [what, body, message] of invalid) {
      it(`answers 400 for ${what}`, async () => {
        const res = await request(t.app).post(`${API}/distributions`).send(body)
        assert.equal(res.status, 400)
        assert.match(res.body.error.message, message)
      })
    }

    it('tells a JavaScript caller who wrote a REST field name how the API spells it', async () => {
      await assert.rejects(t.pulp.distributions.create({ name: 'snake', base_path: 'snake' } as never), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_PULP_INVALID')
        assert.equal(err.message, 'unknown field "base_path" for a distribution: the JavaScript API spells it "basePath" (the REST API takes "base_path")')
        return true
      })
      assert.equal((await request(t.app).get(`${API}/distributions/snake`)).status, 404)
    })

    it('drops the repository of a distribution when the repository is deleted', async () => {
      await t.pulp.repositories.create({ id: 'short-lived' })
      await t.pulp.distributions.create({ name: 'orphan', basePath: 'orphan', repository: 'short-lived' })
      await t.pulp.repositories.delete('short-lived')
      assert.equal((await t.pulp.distributions.get('orphan')).repository, null)
    })
  })
}
