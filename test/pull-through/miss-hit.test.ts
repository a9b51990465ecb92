import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveChunked, serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`pull-through MISS then HIT (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('mirror')
    })
    after(async () => { await f?.cleanup() })

    it('streams a MISS with the upstream type, then serves a HIT without asking upstream', async () => {
      const body = testBytes(300_000)
      f.upstream.on('/files/pkg/a.bin', serveFile(body, { headers: { 'content-type': 'application/x-test' }, chunk: 16_384 }))
      const miss = await f.get('mirror/pkg/a.bin')
      assert.equal(miss.status, 200)
      assert.equal(miss.headers['x-pulp-cache'], 'MISS')
      assert.equal(miss.headers['content-type'], 'application/x-test')
      assert.equal(miss.headers['content-length'], String(body.length))
      assert.equal(miss.headers['accept-ranges'], 'bytes')
      assert.ok(miss.body.equals(body))
      assert.equal(f.upstream.hits('/files/pkg/a.bin'), 1)

      let hit = miss
      await eventually(async () => { hit = await f.get('mirror/pkg/a.bin'); return hit.headers['x-pulp-cache'] === 'HIT' }, 5000, 'a HIT')
      assert.equal(hit.status, 200)
      assert.ok(hit.body.equals(body))
      assert.equal(hit.headers.etag, `"${sha256(body)}"`)
      assert.equal(hit.headers['content-type'], 'application/x-test')
      assert.equal(f.upstream.hits('/files/pkg/a.bin'), 1, 'a HIT never reaches the upstream')
      assert.ok(await f.stored(body))
      assert.deepEqual(await f.tmpFiles(), [])
    })

    it('gives a HIT every file semantic: 304, 206 and 416', async () => {
      const body = testBytes(10_000)
      f.upstream.on('/files/semantics.bin', serveFile(body))
      await f.get('mirror/semantics.bin')
      await f.untilHit('mirror/semantics.bin')
      const etag = `"${sha256(body)}"`
      const notModified = await f.get('mirror/semantics.bin', { headers: { 'if-none-match': etag } })
      assert.equal(notModified.status, 304)
      const partial = await f.get('mirror/semantics.bin', { headers: { range: 'bytes=100-199' } })
      assert.equal(partial.status, 206)
      assert.equal(partial.headers['content-range'], `bytes 100-199/${body.length}`)
      assert.ok(partial.body.equals(body.subarray(100, 200)))
      const beyond = await f.get('mirror/semantics.bin', { headers: { range: 'bytes=20000-' } })
      assert.equal(beyond.status, 416)
      assert.equal(f.upstream.hits('/files/semantics.bin'), 1)
    })

    it('saves a chunked body (no Content-Length) whole', async () => {
      const body = testBytes(70_000)
      f.upstream.on('/files/chunked.bin', serveChunked(body))
      const miss = await f.get('mirror/chunked.bin')
      assert.equal(miss.status, 200)
      assert.equal(miss.headers['content-length'], undefined)
      assert.ok(miss.complete)
      assert.ok(miss.body.equals(body))
      await eventually(async () => await f.stored(body), 5000, 'the artifact')
    })

    it('percent-encodes path segments for the upstream and types by name when it says nothing', async () => {
      const body = Buffer.from('hello world\n')
      f.upstream.on('/files/with%20space/h%C3%A9.txt', (_req, res) => { res.writeHead(200, { 'content-length': body.length }); res.end(body) })
      const miss = await f.get('mirror/with%20space/h%C3%A9.txt')
      assert.equal(miss.status, 200)
      assert.equal(miss.headers['content-type'], 'text/plain; charset=utf-8')
      assert.ok(miss.body.equals(body))
    })

    it('leaves paths outside every distribution to the 404', async () => {
      const res = await f.get('elsewhere/a.bin')
      assert.equal(res.status, 404)
      assert.equal(res.headers['x-pulp-cache'], undefined)
      const base = await f.get('mirror')
      assert.equal(base.status, 404)
    })
  })
}
