import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { serveFile, testBytes } from '../support/upstream-faults'
import { TunnelProxy } from '../support/upstream-proxy'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`proxy_url (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let proxy: TunnelProxy
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      proxy = await TunnelProxy.start()
    })
    after(async () => {
      await proxy?.close()
      await f?.cleanup()
    })

    it('reaches the upstream through the proxy, with its credentials, and reuses one dispatcher', async () => {
      const { remote } = await f.wire('viaproxy', { proxyUrl: `http://puser:ppass@127.0.0.1:${proxy.port}` })
      const body = testBytes(10_000)
      f.upstream.on('/files/p.bin', serveFile(body)).on('/files/q.bin', serveFile(body))
      assert.ok((await f.get('viaproxy/p.bin')).body.equals(body))
      assert.ok((await f.get('viaproxy/q.bin')).body.equals(body))
      assert.equal(proxy.connects.length, 1, 'one tunnel, kept alive for the remote')
      assert.equal(proxy.connects[0].target, `127.0.0.1:${f.upstream.port}`)
      assert.equal(proxy.connects[0].headers['proxy-authorization'], `Basic ${Buffer.from('puser:ppass').toString('base64')}`)
      assert.equal((await f.t.pulp.remotes.get(remote)).proxyUrl, `http://puser:***@127.0.0.1:${proxy.port}/`)
    })

    it('builds a new dispatcher when the remote changes', async () => {
      const { remote } = await f.wire('proxy2', { proxyUrl: `http://127.0.0.1:${proxy.port}` })
      f.upstream.on('/files/r.bin', serveFile(Buffer.from('r'))).on('/files/s.bin', serveFile(Buffer.from('s')))
      const before = proxy.connects.length
      await f.get('proxy2/r.bin')
      await f.t.pulp.remotes.update(remote, { proxyUrl: null })
      await f.get('proxy2/s.bin')
      assert.equal(proxy.connects.length, before + 1, 'the second request went direct')
      assert.equal(f.upstream.hits('/files/s.bin'), 1)
    })
  })
}
