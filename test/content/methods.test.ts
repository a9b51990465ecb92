import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express, { type Express } from 'express'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rawRequest } from '../support/content-http'
import { startPulp, type TestPulp } from '../support/pulp'

// Content answers GET and HEAD; every other method, TRACE and OPTIONS included, gets 405 with
// Allow: GET, HEAD (as nginx and serve-static answer on static files), while the host app's own
// routes beside the middleware answer as they did.
describe('methods other than GET and HEAD on content', () => {
  let t: TestPulp
  let app: Express
  let server: Server
  let port: number

  before(async () => {
    t = await startPulp()
    app = express()
    app.trace('/host/echo', (_req, res) => { res.status(200).send('host trace') })
    app.options('/host/echo', (_req, res) => { res.set('allow', 'GET, TRACE, OPTIONS').status(204).end() })
    app.use('/pulp', t.pulp)
    app.post('/host/after', (_req, res) => { res.status(201).send('host post') })
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await t.cleanup()
  })

  for (const method of ['TRACE', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND', 'MKCOL']) {
    it(`answers ${method} with 405 and Allow: GET, HEAD, on a file, a directory and the mount point`, async () => {
      for (const target of ['/pulp/content/repo/a.txt', '/pulp/content/repo/', '/pulp/content', '/pulp/content/%2e%2e/x']) {
        const res = await rawRequest(port, target, { method, headers: { 'max-forwards': '0' } })
        assert.equal(res.status, 405, `${method} ${target}`)
        assert.equal(res.headers.allow, 'GET, HEAD')
        assert.equal(JSON.parse(res.body.toString()).error.code, 'ERR_PULP_METHOD_NOT_ALLOWED')
        // TRACE must never echo the request (its headers may hold credentials).
        assert.doesNotMatch(res.body.toString(), /max-forwards/i)
      }
    })
  }

  it('leaves the host app\'s routes beside the middleware as they were', async () => {
    assert.equal((await rawRequest(port, '/host/echo', { method: 'TRACE' })).body.toString(), 'host trace')
    const options = await rawRequest(port, '/host/echo', { method: 'OPTIONS' })
    assert.equal(options.status, 204)
    assert.equal(options.headers.allow, 'GET, TRACE, OPTIONS')
    const post = await rawRequest(port, '/host/after', { method: 'POST' })
    assert.equal(post.status, 201)
    assert.equal(post.body.toString(), 'host post')
  })
})
