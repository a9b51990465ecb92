import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, addFile, api } from '../support/publish-env'

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

for (const d of dialects()) {
  describe(`the web distributor (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let seq = 0

    before(async () => { t = await startPulp({ dialect: d.name, runner: { pollInterval: 0.05 } }) })
    after(async () => { await t?.cleanup() })

    async function repo (files: Record<string, string> = {}): Promise<string> {
      const id = `web-${++seq}`
      await api(t).post(`${API}/repositories`).send({ id }).expect(201)
      for (const [p, content] of Object.entries(files)) await addFile(t, id, p, content)
      return id
    }

    async function publish (repoId: string, distributorId = 'web'): Promise<void> {
      const { taskId } = await t.pulp.publish(repoId, distributorId, { overrideConfig: { force_full: true } })
      const task = await t.pulp.tasks.wait(taskId, { timeout: 10 })
      assert.equal(task.state, 'finished', JSON.stringify(task.error))
    }

    const served = (protocol: string, url: string): string => path.join(t.dataDir, 'publish', protocol, url)

    it('publishes a tree of relative symlinks into the artifact store, with a PULP_MANIFEST', async () => {
      const r = await repo({ 'docs/readme.txt': 'read me', 'b,c.bin': 'comma', 'a.txt': 'aaa' })
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web' }).expect(201)
      await publish(r)
      const root = served('http', r)
      assert.ok((await lstat(root)).isSymbolicLink())
      assert.ok(!path.isAbsolute(await readlink(root)), 'the served link is relative')
      assert.equal(path.dirname(await realpath(root)), await realpath(path.join(t.dataDir, 'publications', r, 'web')))
      for (const [p, content] of [['docs/readme.txt', 'read me'], ['a.txt', 'aaa']]) {
        const file = path.join(root, p)
        assert.ok((await lstat(file)).isSymbolicLink(), `${p} is a link, not a copy`)
        assert.ok(!path.isAbsolute(await readlink(file)))
        assert.equal(await realpath(file), await realpath(path.join(t.dataDir, 'artifacts', sha256(content).slice(0, 2), sha256(content).slice(2))))
        assert.equal(await readFile(file, 'utf8'), content)
      }
      assert.equal(await readFile(path.join(root, 'PULP_MANIFEST'), 'utf8'), [
        `a.txt,${sha256('aaa')},3`,
        `"b,c.bin",${sha256('comma')},5`,
        `docs/readme.txt,${sha256('read me')},7`
      ].join('\n') + '\n')
      assert.equal(existsSync(served('https', r)), false, 'https is off by default')
      const task = (await t.pulp.tasks.list({ repoId: r })).results[0]
      assert.deepEqual(task.progressReport, { state: 'finished', units: { done: 3, total: 3 } })
      assert.deepEqual(task.result, { result: 'success', summary: { units: 3, relative_url: r, protocols: ['http'] }, details: { manifest: true } })
    })

    it('serves the published files through the content path', async () => {
      const r = await repo({ 'hello.txt': 'hello web' })
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: `site/${r}` } }).expect(201)
      await publish(r)
      const res = await api(t).get(`/pulp/content/site/${r}/hello.txt`).expect(200)
      assert.equal(res.text, 'hello web')
    })

    it('honours relative_url, https and manifest: false', async () => {
      const r = await repo({ 'x.txt': 'x' })
      await api(t).post(`${API}/repositories/${r}/distributors`)
        .send({ distributor_type_id: 'web', distributor_config: { relative_url: `deep/er/${r}`, http: false, https: true, manifest: false } }).expect(201)
      await publish(r)
      assert.equal(existsSync(served('http', `deep/er/${r}`)), false)
      assert.deepEqual(await readdir(served('https', `deep/er/${r}`)), ['x.txt'])
    })

    for (const [what, config, pattern] of [
      ['an absolute relative_url', { relative_url: '/abs' }, /"relative_url" must be relative/],
      ['a relative_url with ..', { relative_url: 'a/../b' }, /may not contain a "\.\." segment/],
      ['a relative_url that is not a string', { relative_url: 7 }, /"relative_url" must be a non-empty string/],
      ['a flag that is not a boolean', { https: 'yes' }, /"https" must be true or false/],
      ['an unknown key', { relative_ulr: 'x' }, /unknown config key "relative_ulr" \(known: relative_url, http, https, manifest\)/]
    ] as const) {
      it(`answers 400 for ${what}`, async () => {
        const r = await repo()
        const res = await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web', distributor_config: config }).expect(400)
        assert.match(res.body.error.message, pattern)
      })
    }

    it('refuses a relative_url another web distributor uses, contains or nests in, naming its repository', async () => {
      const owner = await repo()
      await api(t).post(`${API}/repositories/${owner}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: 'shared/tree' } }).expect(201)
      const other = await repo()
      for (const [url, how] of [['shared/tree', 'is already used by'], ['shared', 'overlaps'], ['shared/tree/inner', 'overlaps']]) {
        const res = await api(t).post(`${API}/repositories/${other}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: url } }).expect(400)
        assert.equal(res.body.error.message, `relative_url "${url}" ${how} "shared/tree" of distributor "web" of repository "${owner}"`)
      }
      await api(t).post(`${API}/repositories/${other}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: 'shared/treehouse' } }).expect(201)
      const second = await api(t).post(`${API}/repositories/${owner}/distributors`)
        .send({ distributor_type_id: 'web', distributor_id: 'web2', distributor_config: { relative_url: 'shared/tree/x' } }).expect(400)
      assert.match(second.body.error.message, /of repository "web-\d+"/)
      await api(t).put(`${API}/repositories/${owner}/distributors/web`).send({ distributor_config: { https: true } }).expect(200)
    })

    it('counts the default relative_url, the repository id', async () => {
      const named = await repo()
      await api(t).post(`${API}/repositories/${named}/distributors`).send({ distributor_type_id: 'web' }).expect(201)
      const other = await repo()
      const res = await api(t).post(`${API}/repositories/${other}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: named } }).expect(400)
      assert.match(res.body.error.message, new RegExp(`"${named}" of distributor "web" of repository "${named}"`))
    })

    it('gives consumers the protocols and relative URL in its payload', async () => {
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web', distributor_config: { https: true, relative_url: `p/${r}` } }).expect(201)
      await api(t).post(`${API}/consumers`).send({ id: `c-${r}` }).expect(201)
      const res = await api(t).post(`${API}/consumers/c-${r}/bindings`).send({ repo_id: r, distributor_id: 'web' }).expect(201)
      assert.deepEqual(res.body.details, { relative_url: `p/${r}`, protocols: ['http', 'https'], manifest: 'PULP_MANIFEST' })
    })

    it('unpublishes when removed', async () => {
      const r = await repo({ 'f.txt': 'f' })
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web', distributor_config: { https: true, relative_url: `gone/${r}` } }).expect(201)
      await publish(r)
      assert.ok(existsSync(served('http', `gone/${r}/f.txt`)))
      await api(t).delete(`${API}/repositories/${r}/distributors/web`).expect(204)
      assert.equal(existsSync(served('http', `gone/${r}`)), false)
      assert.equal(existsSync(served('https', `gone/${r}`)), false)
      assert.equal(existsSync(served('http', 'gone')), false, 'emptied parent directories go too')
    })

    it('unpublishes when its repository is deleted', async () => {
      const r = await repo({ 'f.txt': 'f' })
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web' }).expect(201)
      await publish(r)
      await api(t).delete(`${API}/repositories/${r}`).expect(204)
      assert.equal(existsSync(served('http', r)), false)
    })

    it('fails the publish, keeping the old tree, when unit paths collide as file and directory', async () => {
      const r = await repo({ 'a.txt': 'one' })
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web' }).expect(201)
      await publish(r)
      await addFile(t, r, 'a.txt/inner', 'two')
      const task = await t.pulp.tasks.wait((await t.pulp.publish(r, 'web')).taskId)
      assert.equal(task.state, 'failed')
      assert.match(String(task.error?.message), /unit "a.txt\/inner" cannot be placed/)
      assert.equal(await readFile(served('http', `${r}/a.txt`), 'utf8'), 'one')
      assert.deepEqual(await readdir(path.join(t.dataDir, 'publications', r, 'web')), [path.basename(await readlink(served('http', r)))], 'no staging directory is left')
    })
  })
}
