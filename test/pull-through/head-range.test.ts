import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { gate, serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`HEAD and Range on cold paths (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('cold')
    })
    after(async () => { await f?.cleanup() })

    it('answers HEAD with the upstream headers, downloading and saving nothing', async () => {
      const body = testBytes(50_000)
      f.upstream.on('/files/head.iso', serveFile(body, { headers: { 'content-type': 'application/x-iso9660-image', 'last-modified': 'Tue, 01 Jul 2025 10:00:00 GMT' } }))
      const res = await f.get('cold/head.iso', { method: 'HEAD' })
      assert.equal(res.status, 200)
      assert.equal(res.headers['content-length'], String(body.length))
      assert.equal(res.headers['content-type'], 'application/x-iso9660-image')
      assert.equal(res.headers['last-modified'], 'Tue, 01 Jul 2025 10:00:00 GMT')
      assert.equal(res.headers['x-pulp-cache'], 'MISS')
      assert.equal(res.body.length, 0)
      assert.equal(f.upstream.hits('/files/head.iso', 'HEAD'), 1)
      assert.equal(f.upstream.hits('/files/head.iso', 'GET'), 0)
      assert.equal(await f.stored(body), false)
      assert.deepEqual(await f.tmpFiles(), [])
      assert.equal((await f.get('cold/head.iso', { method: 'HEAD' })).headers['x-pulp-cache'], 'MISS', 'still not cached')
    })

    it('answers HEAD 404 for an upstream 404', async () => {
      const res = await f.get('cold/nothing.iso', { method: 'HEAD' })
      assert.equal(res.status, 404)
      assert.equal(res.body.length, 0)
    })

    it('answers a Range as soon as its bytes arrive, and still caches the whole file', async () => {
      const body = testBytes(300_000)
      const held = gate()
      f.upstream.on('/files/range.bin', serveFile(body, { chunk: 64 * 1024, gate: held.promise }))
      // The upstream holds after its first 64 KiB; the range lies inside them.
      const part = await f.get('cold/range.bin', { headers: { range: 'bytes=1000-1999' } })
      assert.equal(part.status, 206)
      assert.equal(part.headers['content-range'], `bytes 1000-1999/${body.length}`)
      assert.equal(part.headers['content-length'], '1000')
      assert.ok(part.body.equals(body.subarray(1000, 2000)))
      assert.equal(f.upstream.requestsFor('/files/range.bin')[0].headers.range, undefined, 'the upstream is asked for the whole file')
      held.open()
      await f.untilHit('cold/range.bin')
      assert.ok(await f.stored(body), 'the whole file stored')
      const hit = await f.get('cold/range.bin')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.ok(hit.body.equals(body))
      assert.equal(f.upstream.hits('/files/range.bin'), 1)
    })

    it('answers a suffix range and 416 past the end on a cold path', async () => {
      const body = testBytes(20_000)
      f.upstream.on('/files/suffix.bin', serveFile(body))
      const tail = await f.get('cold/suffix.bin', { headers: { range: 'bytes=-500' } })
      assert.equal(tail.status, 206)
      assert.ok(tail.body.equals(body.subarray(body.length - 500)))
      f.upstream.on('/files/past.bin', serveFile(body))
      const past = await f.get('cold/past.bin', { headers: { range: 'bytes=30000-' } })
      assert.equal(past.status, 416)
      assert.equal(past.headers['content-range'], `bytes */${body.length}`)
      await eventually(async () => await f.stored(body), 5000, 'stored even so')
    })

    it('answers several ranges on a cold path with the whole body', async () => {
      const body = testBytes(20_000)
      f.upstream.on('/files/multi.bin', serveFile(body))
      const res = await f.get('cold/multi.bin', { headers: { range: 'bytes=0-9,100-109' } })
      assert.equal(res.status, 200)
      assert.ok(res.body.equals(body))
    })
  })
}
