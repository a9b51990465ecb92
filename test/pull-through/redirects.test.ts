import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { redirect, serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'
import { UpstreamServer, type LoggedRequest } from '../support/upstream-server'

const KEY = 'remote-api-key'
const TOKEN = 'Bearer remote-token'

function assertRemoteHeaders (seen: LoggedRequest): void {
  assert.equal(seen.headers['x-api-key'], KEY)
  assert.equal(seen.headers.authorization, TOKEN)
}

/** None of the remote's headers, but ours (Via, User-Agent, Accept-Encoding) still. */
function assertNoRemoteHeaders (seen: LoggedRequest): void {
  assert.equal(seen.headers['x-api-key'], undefined)
  assert.equal(seen.headers.authorization, undefined)
  assert.doesNotMatch(JSON.stringify(seen.headers), /remote-api-key|remote-token/)
  assert.match(String(seen.headers.via), /pulp-middleware-/)
  assert.equal(seen.headers['accept-encoding'], 'identity')
}

for (const d of dialects()) {
  describe(`redirects and the remote's headers (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    /** Another origin: same host, another port. */
    let other: UpstreamServer
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      other = await UpstreamServer.start()
      await f.wire('rd', { headers: { 'x-api-key': KEY, authorization: TOKEN } })
    })
    after(async () => {
      await other?.close()
      await f?.cleanup()
    })

    it("keeps the remote's headers on a redirect within its own origin", async () => {
      const body = testBytes(10_000)
      f.upstream.on('/files/moved.bin', redirect('/files/real.bin', 301))
      f.upstream.on('/files/real.bin', serveFile(body))
      const res = await f.get('rd/moved.bin')
      assert.equal(res.status, 200)
      assert.ok(res.body.equals(body))
      assertRemoteHeaders(f.upstream.requestsFor('/files/moved.bin')[0])
      assertRemoteHeaders(f.upstream.requestsFor('/files/real.bin')[0])
    })

    it("follows a redirect to another origin without any of the remote's headers", async () => {
      const body = testBytes(20_000)
      f.upstream.on('/files/cdn.bin', redirect(`${other.url('blobs/cdn.bin')}`))
      other.on('/blobs/cdn.bin', serveFile(body))
      const res = await f.get('rd/cdn.bin')
      assert.equal(res.status, 200)
      assert.ok(res.body.equals(body))
      assertRemoteHeaders(f.upstream.requestsFor('/files/cdn.bin')[0])
      const [seen] = other.requestsFor('/blobs/cdn.bin')
      assertNoRemoteHeaders(seen)
    })

    it('sends them again only where a redirect leads back to the remote\'s own origin', async () => {
      const body = testBytes(5_000)
      f.upstream.on('/files/bounce.bin', redirect(other.url('hop/bounce.bin'), 307))
      other.on('/hop/bounce.bin', redirect(f.upstream.url('files/landed.bin'), 308))
      f.upstream.on('/files/landed.bin', serveFile(body))
      const res = await f.get('rd/bounce.bin', { method: 'HEAD' })
      assert.equal(res.status, 200)
      assertNoRemoteHeaders(other.requestsFor('/hop/bounce.bin')[0])
      assertRemoteHeaders(f.upstream.requestsFor('/files/landed.bin')[0])
    })

    it('gives up after five redirects with a 502', async () => {
      for (let i = 0; i < 7; i++) f.upstream.on(`/files/loop${i}.bin`, redirect(`/files/loop${i + 1}.bin`))
      const res = await f.get('rd/loop0.bin')
      assert.equal(res.status, 502)
      assert.match(JSON.parse(res.body.toString()).error.message, /redirected more than 5 times/)
      assert.equal(f.upstream.hits('/files/loop5.bin'), 1)
      assert.equal(f.upstream.hits('/files/loop6.bin'), 0)
    })
  })
}
