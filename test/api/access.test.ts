import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import express from 'express'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'

const API = '/pulp/api/v1'

for (const d of dialects()) {
  describe(`access to the API (${d.name})`, { skip: d.skip }, () => {
    const started: TestPulp[] = []
    after(async () => { for (const t of started) await t.cleanup() })

    it('answers loopback clients by default', async () => {
      const t = await startPulp({ dialect: d.name })
      started.push(t)
      const res = await request(t.app).get(`${API}/repositories`)
      assert.equal(res.status, 200)
    })

    it('answers 403 to a non-loopback client by default (req.ip from trust proxy)', async () => {
      const t = await startPulp({ dialect: d.name })
      started.push(t)
      t.app.set('trust proxy', true)
      const res = await request(t.app).get(`${API}/repositories`).set('X-Forwarded-For', '203.0.113.9')
      assert.equal(res.status, 403)
      assert.equal(res.body.error.code, 'ERR_PULP_FORBIDDEN')
      assert.match(res.body.error.message, /repositories\.list/)
    })

    it('parses a spoofed X-Forwarded-For under trust proxy: only real loopback addresses pass', async () => {
      const t = await startPulp({ dialect: d.name })
      started.push(t)
      t.app.set('trust proxy', true)
      const expected: Record<string, number> = {
        '127.evil': 403,
        '127.0.0.1.evil.com': 403,
        '128.0.0.1': 403,
        '::ffff:128.0.0.1': 403,
        '::127.0.0.1': 403,
        'garbage': 403,
        '::1%lo': 403,
        '127.1.2.3': 200,
        '::1': 200,
        '0:0:0:0:0:0:0:1': 200,
        '::ffff:127.0.0.1': 200,
        '::ffff:7f00:1': 200
      }
      const got: Record<string, number> = {}
      for (const spoofed of Object.keys(expected)) {
        got[spoofed] = (await request(t.app).get(`${API}/repositories`).set('X-Forwarded-For', spoofed)).status
      }
      assert.deepEqual(got, expected)
    })

    it('with a hop count for trust proxy, a client cannot claim loopback through X-Forwarded-For', async () => {
      const t = await startPulp({ dialect: d.name })
      started.push(t)
      // One proxy in front: req.ip is the address that proxy saw, whatever the client wrote before it.
      t.app.set('trust proxy', 1)
      const res = await request(t.app).get(`${API}/repositories`).set('X-Forwarded-For', '127.0.0.1, 203.0.113.9')
      assert.equal(res.status, 403)
      assert.equal((await request(t.app).get(`${API}/repositories`).set('X-Forwarded-For', '127.0.0.1')).status, 200)
    })

    it('lets a custom authorize decide, with the action name: 401 without credentials, 403 with', async () => {
      const seen: string[] = []
      const t = await startPulp({
        dialect: d.name,
        authorize: (req, action) => {
          seen.push(action)
          return req.headers.authorization === 'Bearer good'
        }
      })
      started.push(t)
      assert.equal((await request(t.app).get(`${API}/repositories`)).status, 401)
      assert.equal((await request(t.app).get(`${API}/repositories`).set('Authorization', 'Bearer bad')).status, 403)
      assert.equal((await request(t.app).get(`${API}/repositories`).set('Authorization', 'Bearer good')).status, 200)
      assert.equal((await request(t.app).post(`${API}/repositories`).set('Authorization', 'Bearer good').send({ id: 'a' })).status, 201)
      assert.ok(seen.includes('repositories.list') && seen.includes('repositories.create'))
    })

    it('accepts an async authorize', async () => {
      const t = await startPulp({ dialect: d.name, authorize: async () => await Promise.resolve(false) })
      started.push(t)
      assert.equal((await request(t.app).get(`${API}/status`)).status, 401)
    })

    it('answers a 500 with no stack and no message when authorize throws', async () => {
      const t = await startPulp({ dialect: d.name, authorize: () => { throw new Error('secret internals at /srv/app.js:12') } })
      started.push(t)
      const res = await request(t.app).get(`${API}/repositories`)
      assert.equal(res.status, 500)
      assert.deepEqual(res.body, { error: { code: 'ERR_PULP_INTERNAL', message: 'internal server error' } })
      assert.doesNotMatch(res.text, /secret|app\.js|at /)
    })

    it('serves content publicly even when the API refuses', async () => {
      const t = await startPulp({ dialect: d.name, authorize: () => false })
      started.push(t)
      const res = await request(t.app).get('/pulp/content/nothing.txt')
      assert.equal(res.status, 404)
    })

    it('mounts no API with apiPath: false', async () => {
      const t = await startPulp({ dialect: d.name, apiPath: false })
      started.push(t)
      const app = express()
      app.use('/pulp', t.pulp)
      app.use((_req, res) => { res.status(418).end() })
      assert.equal((await request(app).get(`${API}/repositories`)).status, 418)
    })
  })
}
