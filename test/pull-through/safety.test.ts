import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { dialects } from '../support/databases'
import { serveFile } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`what reaches the upstream (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let instanceId: string
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('safe', { headers: { 'x-api-key': 'remote-key', authorization: 'Bearer remote-token' } })
      instanceId = (await request(f.t.app).get('/pulp/api/v1/status').expect(200)).body.runner.instance_id
    })
    after(async () => { await f?.cleanup() })

    it("sends the remote's headers and Via, never the client's Authorization or Cookie", async () => {
      f.upstream.on('/files/who.txt', serveFile(Buffer.from('hi\n')))
      const res = await f.get('safe/who.txt', {
        headers: { authorization: 'Basic Y2xpZW50OnNlY3JldA==', cookie: 'session=client-cookie', via: '1.1 corporate-proxy' }
      })
      assert.equal(res.status, 200)
      const [seen] = f.upstream.requestsFor('/files/who.txt')
      assert.equal(seen.headers.authorization, 'Bearer remote-token')
      assert.equal(seen.headers['x-api-key'], 'remote-key')
      assert.equal(seen.headers.cookie, undefined)
      assert.equal(seen.headers['accept-encoding'], 'identity')
      assert.equal(seen.headers.via, `1.1 corporate-proxy, 1.1 pulp-middleware-${instanceId}`)
      assert.doesNotMatch(JSON.stringify(seen.headers), /client-cookie|Y2xpZW50OnNlY3JldA==/)
    })

    it('answers 508 to a request that already went through this instance', async () => {
      const res = await f.get('safe/loop.txt', { headers: { via: `1.1 other, 1.1 pulp-middleware-${instanceId}` } })
      assert.equal(res.status, 508)
      assert.equal(JSON.parse(res.body.toString()).error.code, 'ERR_PULP_LOOP')
      assert.equal(f.upstream.hits('/files/loop.txt'), 0)
    })

    it('stops a real loop: a remote pointing back at this distribution', async () => {
      await f.t.pulp.remotes.create({ name: 'self', url: `http://127.0.0.1:${f.port}/pulp/content/self/` })
      await f.t.pulp.distributions.create({ name: 'self', basePath: 'self', remote: 'self' })
      const res = await f.get('self/x.txt')
      // The inner request gets 508; the outer one reports its upstream's failure.
      assert.equal(res.status, 502)
      assert.match(JSON.parse(res.body.toString()).error.message, /remote "self" answered 508/)
    })

    it('lets only GET and HEAD through: other methods get 405 and never reach the upstream', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await f.get('safe/who.txt', { method })
        assert.equal(res.status, 405)
        assert.equal(res.headers.allow, 'GET, HEAD')
      }
      assert.equal(f.upstream.log.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').length, 0)
    })
  })
}
