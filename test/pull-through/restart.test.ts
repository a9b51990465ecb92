import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import express from 'express'
import { pulpMiddleware, type PulpMiddleware } from '../../lib'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { fetchRaw, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

// A restarted instance remembers nothing: it finds saved paths in the database, asking while
// it already claims the path for a download (a MISS saves a query that way). Whatever it
// guessed, a saved path must come from the store, with no upstream request.
// On the embedded database, which a second middleware on the same dataDir opens by default.
describe('pull-through after a restart (sqlite)', () => {
  let f: PullThroughFixture
  let again: PulpMiddleware
  let server: Server
  let port: number
  const body = testBytes(700_000)
  const small = testBytes(3000)

  before(async () => {
    f = await startPullThrough({ dialect: 'sqlite' })
    await f.wire('saved')
    await f.wire('passing', { policy: 'streamed', dir: 'streamed/' })
    f.upstream.on('/files/pkg.bin', serveFile(body, { chunk: 65_536 }))
    f.upstream.on('/files/small.bin', serveFile(small))
    f.upstream.on('/streamed/live.bin', serveFile(small))
    for (const file of ['pkg.bin', 'small.bin']) {
      assert.equal((await f.get(`saved/${file}`)).headers['x-pulp-cache'], 'MISS')
      await f.untilHit(`saved/${file}`)
    }
    again = pulpMiddleware({ dataDir: f.t.dataDir })
    const app = express()
    app.use('/pulp', again)
    await again.ready
    server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve))
    await again?.close()
    await f?.cleanup()
  })

  it('serves saved paths as HITs to many clients at once, asking the upstream nothing', async () => {
    const results = await Promise.all([
      ...Array.from({ length: 8 }, async () => await fetchRaw(port, '/pulp/content/saved/pkg.bin')),
      ...Array.from({ length: 4 }, async () => await fetchRaw(port, '/pulp/content/saved/small.bin'))
    ])
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, `client ${i}`)
      assert.equal(r.headers['x-pulp-cache'], 'HIT', `client ${i}`)
      assert.ok(r.body.equals(i < 8 ? body : small), `client ${i}: the saved bytes`)
    }
    assert.equal(f.upstream.hits('/files/pkg.bin'), 1)
    assert.equal(f.upstream.hits('/files/small.bin'), 1)
    // The downloads started on a guess leave nothing behind.
    await eventually(async () => (await readdir(path.join(f.t.dataDir, 'tmp'))).length === 0, 5000, 'an empty tmp/')
  })

  it('still pulls what is not saved, once, and saves it', async () => {
    const fresh = testBytes(200_000)
    f.upstream.on('/files/fresh.bin', serveFile(fresh))
    const miss = await fetchRaw(port, '/pulp/content/saved/fresh.bin')
    assert.equal(miss.headers['x-pulp-cache'], 'MISS')
    assert.ok(miss.body.equals(fresh))
    await eventually(async () => (await fetchRaw(port, '/pulp/content/saved/fresh.bin', { method: 'HEAD' })).headers['x-pulp-cache'] === 'HIT', 5000, 'a HIT')
    assert.equal(f.upstream.hits('/files/fresh.bin'), 1)
    // A remote that saves nothing passes every request on.
    for (let i = 0; i < 2; i++) assert.ok((await fetchRaw(port, '/pulp/content/passing/live.bin')).body.equals(small))
    assert.equal(f.upstream.hits('/streamed/live.bin'), 2)
  })
})
