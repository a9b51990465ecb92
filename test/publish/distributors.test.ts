import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Distributor, type DistributorMetadata, type ValidationResult } from '../../lib'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, addFile, api } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`distributors on repositories (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let seq = 0
    const picky = scriptedDistributor({
      id: 'picky',
      validate: (_repo, config) => config.get('color') === 'red' ? { valid: false, message: 'red is not allowed here' } : { valid: true }
    })
    const fragile = scriptedDistributor({
      id: 'fragile',
      added: (_repo, config) => { if (config.get('explode') === true) throw new Error('disk on fire') }
    })
    const isoOnly = scriptedDistributor({ id: 'iso-only', types: ['iso'] })

    before(async () => {
      t = await startPulp({
        dialect: d.name,
        runner: false,
        plugins: [{ distributors: [{ type: picky.Class, defaultConfig: { size: 'm', shape: 'round' } }, fragile.Class, isoOnly.Class] }]
      })
    })
    after(async () => { await t?.cleanup() })

    async function repo (): Promise<string> {
      const id = `repo-${++seq}`
      await api(t).post(`${API}/repositories`).send({ id }).expect(201)
      return id
    }

    it('adds a distributor whose id defaults to its type id, and reads it back', async () => {
      const r = await repo()
      const res = await api(t).post(`${API}/repositories/${r}/distributors`)
        .send({ distributor_type_id: 'picky', distributor_config: { color: 'blue' }, auto_publish: true }).expect(201)
      assert.equal(res.body.id, 'picky')
      assert.equal(res.body.repo_id, r)
      assert.equal(res.body.distributor_type_id, 'picky')
      assert.deepEqual(res.body.config, { color: 'blue' })
      assert.equal(res.body.auto_publish, true)
      assert.equal(res.body.last_publish, null)
      const read = await api(t).get(`${API}/repositories/${r}/distributors/picky`).expect(200)
      assert.deepEqual(read.body, res.body)
      const list = await api(t).get(`${API}/repositories/${r}/distributors`).expect(200)
      assert.equal(list.body.count, 1)
      assert.deepEqual(list.body.results[0], res.body)
    })

    it('validates with the layered config (stored over default) on a fresh instance', async () => {
      const r = await repo()
      const before = picky.probe.instances.length
      await api(t).post(`${API}/repositories/${r}/distributors`)
        .send({ distributor_type_id: 'picky', distributor_id: 'p2', distributor_config: { shape: 'square', gone: null } }).expect(201)
      const call = picky.probe.validated.at(-1)
      assert.deepEqual(call?.config, { size: 'm', shape: 'square' })
      assert.equal(call?.repo.id, r)
      assert.equal(call?.conduit.distributorId, 'p2')
      assert.ok(picky.probe.instances.length > before)
      assert.ok(!picky.probe.instances.slice(0, before).includes(call!.instance), 'a fresh instance validated')
    })

    it('answers 400 with the message of validateConfig and stores nothing', async () => {
      const r = await repo()
      const res = await api(t).post(`${API}/repositories/${r}/distributors`)
        .send({ distributor_type_id: 'picky', distributor_config: { color: 'red' } }).expect(400)
      assert.deepEqual(res.body, { error: { code: 'ERR_PULP_INVALID_CONFIG', message: 'red is not allowed here' } })
      await api(t).get(`${API}/repositories/${r}/distributors/picky`).expect(404)
    })

    it('answers 400 naming the registered types for an unknown type', async () => {
      const r = await repo()
      const res = await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'nope' }).expect(400)
      assert.match(res.body.error.message, /unknown distributor type "nope" \(registered: web, picky, fragile, iso-only\)/)
    })

    it('answers 400 for a bad distributor id or a config that is not an object', async () => {
      const r = await repo()
      const bad = await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'picky', distributor_id: '../x' }).expect(400)
      assert.match(bad.body.error.message, /"distributor_id" may contain only/)
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'picky', distributor_config: [1] }).expect(400)
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'picky', auto_publish: 'yes' }).expect(400)
    })

    it('refuses a type that does not publish the content the repository holds', async () => {
      const r = await repo()
      await addFile(t, r, 'a.txt', 'a')
      const res = await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'iso-only' }).expect(400)
      assert.match(res.body.error.message, /"iso-only" publishes content of type iso, but repository "repo-\d+" also holds file/)
    })

    it('answers 409 for a duplicate and 404 for a missing repository or distributor', async () => {
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'picky' }).expect(201)
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'picky' }).expect(409)
      await api(t).post(`${API}/repositories/missing/distributors`).send({ distributor_type_id: 'picky' }).expect(404)
      await api(t).get(`${API}/repositories/${r}/distributors/none`).expect(404)
      await api(t).put(`${API}/repositories/${r}/distributors/none`).send({}).expect(404)
      await api(t).delete(`${API}/repositories/${r}/distributors/none`).expect(404)
    })

    it('merges config keys on PUT, deletes a key set to null, and re-validates', async () => {
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'picky', distributor_config: { a: 1, b: 2 } }).expect(201)
      const res = await api(t).put(`${API}/repositories/${r}/distributors/picky`).send({ distributor_config: { b: null, c: 3 }, auto_publish: true }).expect(200)
      assert.deepEqual(res.body.config, { a: 1, c: 3 })
      assert.equal(res.body.auto_publish, true)
      assert.deepEqual(picky.probe.validated.at(-1)?.config, { size: 'm', shape: 'round', a: 1, c: 3 })
      const refused = await api(t).put(`${API}/repositories/${r}/distributors/picky`).send({ distributor_config: { color: 'red' } }).expect(400)
      assert.equal(refused.body.error.message, 'red is not allowed here')
      const kept = await api(t).get(`${API}/repositories/${r}/distributors/picky`).expect(200)
      assert.deepEqual(kept.body.config, { a: 1, c: 3 })
    })

    it('undoes the add and reports the error when distributorAdded throws', async () => {
      const r = await repo()
      const res = await api(t).post(`${API}/repositories/${r}/distributors`)
        .send({ distributor_type_id: 'fragile', distributor_config: { explode: true } }).expect(400)
      assert.match(res.body.error.message, /distributor "fragile" was not added: its distributorAdded hook failed: disk on fire/)
      await api(t).get(`${API}/repositories/${r}/distributors/fragile`).expect(404)
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'fragile' }).expect(201)
      assert.equal(fragile.probe.added.at(-1)?.repoId, r)
    })

    it('calls distributorRemoved on remove, with the stored config', async () => {
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'fragile', distributor_config: { k: 'v' } }).expect(201)
      await api(t).delete(`${API}/repositories/${r}/distributors/fragile`).expect(204)
      assert.deepEqual(fragile.probe.removed.at(-1), { instance: fragile.probe.removed.at(-1)?.instance, repoId: r, config: { k: 'v' } })
      await api(t).get(`${API}/repositories/${r}/distributors/fragile`).expect(404)
    })

    it('calls distributorRemoved for each distributor when the repository is deleted', async () => {
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'fragile', distributor_id: 'one' }).expect(201)
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'fragile', distributor_id: 'two' }).expect(201)
      const before = fragile.probe.removed.length
      await api(t).delete(`${API}/repositories/${r}`).expect(204)
      assert.deepEqual(fragile.probe.removed.slice(before).map((c) => c.repoId), [r, r])
    })

    it('offers getRepoDistributorsByRelativeUrl to validateConfig', async () => {
      const seen: unknown[] = []
      const looker = scriptedDistributor({
        id: 'looker',
        validate: async (_repo, config, conduit) => {
          seen.push(await conduit.getRepoDistributorsByRelativeUrl(String(config.get('relative_url'))))
          return { valid: true }
        }
      })
      t.pulp.registry.registerDistributor(looker.Class)
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: `pub/${r}` } }).expect(201)
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'looker', distributor_config: { relative_url: 'pub' } }).expect(201)
      assert.deepEqual(seen.at(-1), [{ repoId: r, distributorId: 'web', distributorTypeId: 'web', relativeUrl: `pub/${r}` }])
    })

    it('counts the place a type\'s defaultRelativeUrl names for a distributor without relative_url', async () => {
      class Mirrored extends Distributor {
        static metadata (): DistributorMetadata { return { id: 'mirrored', displayName: 'Mirrored', types: ['file'] } }
        static defaultRelativeUrl (repo: { id: string }): string { return `mirror/${repo.id}` }
        validateConfig (): ValidationResult { return { valid: true } }
      }
      t.pulp.registry.registerDistributor(Mirrored)
      const r = await repo()
      await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'mirrored' }).expect(201)
      const other = await repo()
      const res = await api(t).post(`${API}/repositories/${other}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: 'mirror' } }).expect(400)
      assert.equal(res.body.error.message, `relative_url "mirror" overlaps "mirror/${r}" of distributor "mirrored" of repository "${r}"`)
      await api(t).post(`${API}/repositories/${other}/distributors`).send({ distributor_type_id: 'web', distributor_config: { relative_url: 'mirrors' } }).expect(201)
    })

    it('works the same through the programmatic API', async () => {
      const r = await repo()
      const added = await t.pulp.distributors.add(r, { distributorTypeId: 'picky', distributorId: 'code', distributorConfig: { n: 1 } })
      assert.equal(added.id, 'code')
      assert.deepEqual((await t.pulp.distributors.update(r, 'code', { distributorConfig: { n: null } })).config, {})
      assert.equal((await t.pulp.distributors.list(r)).count, 1)
      await assert.rejects(t.pulp.distributors.add(r, { distributorTypeId: 'picky', distributorConfig: { color: 'red' } }), { code: 'ERR_PULP_INVALID_CONFIG' })
      await t.pulp.distributors.remove(r, 'code')
      await assert.rejects(t.pulp.distributors.get(r, 'code'), { code: 'ERR_PULP_NOT_FOUND' })
    })
  })
}
