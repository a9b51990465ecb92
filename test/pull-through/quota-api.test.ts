import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { dialects } from '../support/databases'
import { API } from '../support/publish-env'
import { startPulp, type TestPulp } from '../support/pulp'

const MESSAGE = /^"cache_max_bytes" must be a whole number of bytes >= 0 \(at most 9007199254740991\), or null for no limit: got /

for (const d of dialects()) {
  describe(`cache_max_bytes of a distribution (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    before(async () => {
      t = await startPulp({ dialect: d.name })
      await t.pulp.remotes.create({ name: 'up', url: 'http://127.0.0.1:9/' })
    })
    after(async () => { await t?.cleanup() })

    it('is null (no limit) unless given, and takes whole byte counts and null', async () => {
      const created = await request(t.app).post(`${API}/distributions`).send({ name: 'plain', base_path: 'plain', remote: 'up' }).expect(201)
      assert.equal(created.body.cache_max_bytes, null)
      const limited = await request(t.app).post(`${API}/distributions`).send({ name: 'capped', base_path: 'capped', remote: 'up', cache_max_bytes: 10_000_000_000 }).expect(201)
      assert.equal(limited.body.cache_max_bytes, 10_000_000_000, 'beyond 32 bits')
      assert.equal((await request(t.app).get(`${API}/distributions/capped`).expect(200)).body.cache_max_bytes, 10_000_000_000)
      assert.equal((await request(t.app).patch(`${API}/distributions/capped`).send({ cache_max_bytes: 0 }).expect(200)).body.cache_max_bytes, 0)
      assert.equal((await request(t.app).patch(`${API}/distributions/capped`).send({ base_path: 'capped2' }).expect(200)).body.cache_max_bytes, 0, 'kept when not given')
      assert.equal((await request(t.app).patch(`${API}/distributions/capped`).send({ cache_max_bytes: null }).expect(200)).body.cache_max_bytes, null)
      const js = await t.pulp.distributions.update('plain', { cacheMaxBytes: 4096 })
      assert.equal(js.cacheMaxBytes, 4096)
    })

    it('answers 400 naming the field for anything but a whole number >= 0 or null', async () => {
      for (const bad of [-1, 1.5, '1000', '1GB', true, {}, [], 2 ** 53]) {
        for (const res of [
          await request(t.app).post(`${API}/distributions`).send({ name: 'bad', base_path: 'bad', cache_max_bytes: bad }),
          await request(t.app).patch(`${API}/distributions/plain`).send({ cache_max_bytes: bad })
        ]) {
          assert.equal(res.status, 400, JSON.stringify(bad))
          assert.equal(res.body.error.code, 'ERR_PULP_INVALID')
          assert.match(res.body.error.message, MESSAGE)
        }
      }
      assert.equal((await request(t.app).get(`${API}/distributions/bad`)).status, 404, 'nothing was created')
      assert.equal((await request(t.app).get(`${API}/distributions/plain`).expect(200)).body.cache_max_bytes, 4096, 'nothing was changed')
      await assert.rejects(t.pulp.distributions.update('plain', { cache_max_bytes: 1 } as never), /the JavaScript API spells it "cacheMaxBytes"/)
    })

    it('reclaims on request: nothing without a limit, 404 for an unknown distribution', async () => {
      await request(t.app).post(`${API}/distributions`).send({ name: 'free', base_path: 'free', remote: 'up' }).expect(201)
      assert.deepEqual((await request(t.app).post(`${API}/distributions/free/reclaim`).expect(200)).body, { files: 0, bytes: 0, cached: 0, busy: false })
      assert.deepEqual(await t.pulp.distributions.reclaim('free'), { files: 0, bytes: 0, cached: 0, busy: false })
      const missing = await request(t.app).post(`${API}/distributions/nowhere/reclaim`).expect(404)
      assert.match(missing.body.error.message, /distribution "nowhere" does not exist/)
    })

    it('is in the OpenAPI document', async () => {
      const doc = (await request(t.app).get(`${API}/openapi.json`).expect(200)).body
      for (const schema of ['DistributionInput', 'DistributionUpdate', 'Distribution']) {
        assert.equal(doc.components.schemas[schema].properties.cache_max_bytes.type, 'integer', schema)
        assert.equal(doc.components.schemas[schema].properties.cache_max_bytes.nullable, true, schema)
      }
    })
  })
}
