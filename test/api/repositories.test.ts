import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'

const API = '/pulp/api/v1'

for (const d of dialects()) {
  describe(`repositories API (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    before(async () => { t = await startPulp({ dialect: d.name }) })
    after(async () => { await t?.cleanup() })

    it('creates a repository and answers 201 with it in snake_case', async () => {
      const res = await request(t.app).post(`${API}/repositories`)
        .send({ id: 'zoo', display_name: 'Zoo', description: 'animals', notes: { team: 'x' } })
      assert.equal(res.status, 201)
      assert.equal(res.body.id, 'zoo')
      assert.equal(res.body.display_name, 'Zoo')
      assert.deepEqual(res.body.notes, { team: 'x' })
      assert.equal(res.body.total_repository_units, 0)
      assert.deepEqual(res.body.content_unit_counts, {})
      assert.equal(res.body.last_unit_added, null)
      assert.match(res.body.created, /^\d{4}-\d\d-\d\dT/)
    })

    it('answers 409 for a duplicate id', async () => {
      await request(t.app).post(`${API}/repositories`).send({ id: 'dup' }).expect(201)
      const res = await request(t.app).post(`${API}/repositories`).send({ id: 'dup' })
      assert.equal(res.status, 409)
      assert.equal(res.body.error.code, 'ERR_PULP_CONFLICT')
      assert.match(res.body.error.message, /"dup" already exists/)
    })

    for (const id of ['', 'a b', 'a/b', '..', '.', 'ü', 'x'.repeat(256), 42, null]) {
      it(`answers 400 for the bad id ${JSON.stringify(id)?.slice(0, 20)}`, async () => {
        const res = await request(t.app).post(`${API}/repositories`).send({ id })
        assert.equal(res.status, 400)
        assert.equal(res.body.error.code, 'ERR_PULP_INVALID')
        assert.match(res.body.error.message, /"id"/)
      })
    }

    it('answers 400 naming an unknown field', async () => {
      const res = await request(t.app).post(`${API}/repositories`).send({ id: 'ok1', colour: 'red' })
      assert.equal(res.status, 400)
      assert.match(res.body.error.message, /"colour"/)
    })

    it('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
      const bad = await request(t.app).post(`${API}/repositories`).set('Content-Type', 'application/json').send('{"id": ')
      assert.equal(bad.status, 400)
      assert.match(bad.body.error.message, /not valid JSON/)
      const form = await request(t.app).post(`${API}/repositories`).type('form').send({ id: 'x' })
      assert.equal(form.status, 415)
      assert.match(form.body.error.message, /application\/json/)
    })

    it('lists with limit and offset as {count, results}', async () => {
      for (const id of ['p1', 'p2', 'p3']) await request(t.app).post(`${API}/repositories`).send({ id }).expect(201)
      const all = await request(t.app).get(`${API}/repositories`).expect(200)
      const page = await request(t.app).get(`${API}/repositories?limit=2&offset=1`).expect(200)
      assert.equal(page.body.count, all.body.count)
      assert.deepEqual(page.body.results.map((r: { id: string }) => r.id), all.body.results.slice(1, 3).map((r: { id: string }) => r.id))
      const bad = await request(t.app).get(`${API}/repositories?limit=-1`)
      assert.equal(bad.status, 400)
      assert.match(bad.body.error.message, /"limit"/)
      assert.equal((await request(t.app).get(`${API}/repositories?limit=5000`)).status, 400)
    })

    it('reads, updates and deletes', async () => {
      await request(t.app).post(`${API}/repositories`).send({ id: 'life' }).expect(201)
      const patched = await request(t.app).patch(`${API}/repositories/life`).send({ display_name: 'Life', notes: { a: 1 } })
      assert.equal(patched.status, 200)
      assert.equal(patched.body.display_name, 'Life')
      assert.deepEqual(patched.body.notes, { a: 1 })
      const read = await request(t.app).get(`${API}/repositories/life`).expect(200)
      assert.equal(read.body.display_name, 'Life')
      assert.equal((await request(t.app).patch(`${API}/repositories/life`).send({ id: 'other' })).status, 400)
      await request(t.app).delete(`${API}/repositories/life`).expect(204)
      const gone = await request(t.app).get(`${API}/repositories/life`)
      assert.equal(gone.status, 404)
      assert.match(gone.body.error.message, /"life" does not exist/)
      assert.equal((await request(t.app).delete(`${API}/repositories/life`)).status, 404)
      assert.equal((await request(t.app).patch(`${API}/repositories/life`).send({})).status, 404)
    })

    it('answers a JSON 404 for an unknown API route', async () => {
      const res = await request(t.app).get(`${API}/nothing-here`)
      assert.equal(res.status, 404)
      assert.equal(res.body.error.code, 'ERR_PULP_NOT_FOUND')
    })

    it('works through the programmatic API with the same rules', async () => {
      const repo = await t.pulp.repositories.create({ id: 'code', displayName: 'From code' })
      assert.equal(repo.displayName, 'From code')
      await assert.rejects(t.pulp.repositories.create({ id: 'code' }), { code: 'ERR_PULP_CONFLICT' })
      await assert.rejects(t.pulp.repositories.create({ id: 'a/b' }), { code: 'ERR_PULP_INVALID' })
      const listed = await t.pulp.repositories.list({ limit: 1000 })
      assert.ok(listed.results.some((r) => r.id === 'code'))
    })
  })
}
