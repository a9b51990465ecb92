import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, api } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`consumers and bindings (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const payer = scriptedDistributor({
      id: 'payer',
      payload: (repo, config, bindingConfig) => ({ repo: repo.id, url: config.get('url'), wants: bindingConfig.wants ?? null })
    })

    before(async () => {
      t = await startPulp({ dialect: d.name, runner: false, plugins: [{ distributors: [{ type: payer.Class, defaultConfig: { url: 'default' } }] }] })
      await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
      await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'payer' }).expect(201)
    })
    after(async () => { await t?.cleanup() })

    it('creates, reads, lists and deletes consumers', async () => {
      const res = await api(t).post(`${API}/consumers`).send({ id: 'laptop', display_name: 'My laptop', notes: { os: 'debian' } }).expect(201)
      assert.deepEqual({ ...res.body, created: '' }, { id: 'laptop', display_name: 'My laptop', description: null, notes: { os: 'debian' }, created: '' })
      await api(t).post(`${API}/consumers`).send({ id: 'laptop' }).expect(409)
      await api(t).post(`${API}/consumers`).send({ id: 'bad id' }).expect(400)
      assert.equal((await api(t).get(`${API}/consumers/laptop`).expect(200)).body.display_name, 'My laptop')
      assert.equal((await api(t).get(`${API}/consumers`).expect(200)).body.count, 1)
      await api(t).delete(`${API}/consumers/laptop`).expect(204)
      await api(t).get(`${API}/consumers/laptop`).expect(404)
      await api(t).delete(`${API}/consumers/laptop`).expect(404)
    })

    it('binds with details from createConsumerPayload on a fresh instance', async () => {
      await api(t).post(`${API}/consumers`).send({ id: 'box' }).expect(201)
      const instances = payer.probe.instances.length
      const res = await api(t).post(`${API}/consumers/box/bindings`).send({ repo_id: 'r', distributor_id: 'payer', binding_config: { wants: 'all' } }).expect(201)
      assert.deepEqual({ ...res.body, created: '' }, {
        consumer_id: 'box', repo_id: 'r', distributor_id: 'payer', binding_config: { wants: 'all' }, created: '', details: { repo: 'r', url: 'default', wants: 'all' }
      })
      assert.equal(payer.probe.payloads.at(-1)?.instance, payer.probe.instances.at(-1))
      assert.equal(payer.probe.instances.length, instances + 1)
      await api(t).post(`${API}/consumers/box/bindings`).send({ repo_id: 'r', distributor_id: 'payer' }).expect(409)
    })

    it('lists bindings with payloads made afresh from the current config', async () => {
      await t.pulp.distributors.update('r', 'payer', { distributorConfig: { url: 'changed' } })
      const res = await api(t).get(`${API}/consumers/box/bindings`).expect(200)
      assert.equal(res.body.count, 1)
      assert.deepEqual(res.body.results[0].details, { repo: 'r', url: 'changed', wants: 'all' })
    })

    it('answers 404 for a missing consumer, repository or distributor', async () => {
      await api(t).post(`${API}/consumers/ghost/bindings`).send({ repo_id: 'r', distributor_id: 'payer' }).expect(404)
      await api(t).post(`${API}/consumers/box/bindings`).send({ repo_id: 'nope', distributor_id: 'payer' }).expect(404)
      await api(t).post(`${API}/consumers/box/bindings`).send({ repo_id: 'r', distributor_id: 'nope' }).expect(404)
      await api(t).get(`${API}/consumers/ghost/bindings`).expect(404)
      await api(t).post(`${API}/consumers/box/bindings`).send({ repo_id: 'r' }).expect(400)
    })

    it('unbinds, and a binding goes with its distributor', async () => {
      await api(t).delete(`${API}/consumers/box/bindings/r/payer`).expect(204)
      await api(t).delete(`${API}/consumers/box/bindings/r/payer`).expect(404)
      assert.equal((await api(t).get(`${API}/consumers/box/bindings`).expect(200)).body.count, 0)
      await t.pulp.consumers.bind('box', { repoId: 'r', distributorId: 'payer' })
      await t.pulp.distributors.remove('r', 'payer')
      assert.equal((await t.pulp.consumers.bindings('box')).count, 0)
    })
  })
}
