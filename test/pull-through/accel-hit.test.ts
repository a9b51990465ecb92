import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rename, symlink, unlink } from 'node:fs/promises'
import path from 'node:path'
import { makeFixture, type ContentFixture } from '../support/content-tree'
import { serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

// With `accel`, a HIT names its artifact for the front server instead of sending it; the MISS
// still streams, and the containment check still decides what may be named.
describe('pull-through HIT with accel', () => {
  let f: PullThroughFixture
  // Only its secret file is used: a file outside every store.
  let outside: ContentFixture
  before(async () => {
    f = await startPullThrough({ accel: { header: 'X-Accel-Redirect', prefix: '/_f', minSize: 0 } })
    await f.wire('mirror')
    outside = await makeFixture()
  })
  after(async () => {
    await f?.cleanup()
    await outside?.cleanup()
  })

  const artifactOf = (body: Buffer): string => `artifacts/${sha256(body).slice(0, 2)}/${sha256(body).slice(2)}`

  it('streams the MISS, then answers the HIT with its headers and the artifact named', async () => {
    const body = testBytes(20_000)
    f.upstream.on('/files/a.bin', serveFile(body, { headers: { 'content-type': 'application/x-test' } }))
    const miss = await f.get('mirror/a.bin')
    assert.equal(miss.headers['x-pulp-cache'], 'MISS')
    assert.equal(miss.headers['x-accel-redirect'], undefined)
    assert.ok(miss.body.equals(body))
    await f.untilHit('mirror/a.bin')
    const hit = await f.get('mirror/a.bin')
    assert.equal(hit.status, 200)
    assert.equal(hit.headers['x-pulp-cache'], 'HIT')
    assert.equal(hit.headers['x-accel-redirect'], `/_f/${artifactOf(body)}`)
    assert.equal(hit.headers.etag, `"${sha256(body)}"`)
    assert.equal(hit.headers['content-type'], 'application/x-test')
    assert.equal(hit.headers['content-length'], String(body.length))
    assert.equal(hit.body.length, 0)
    const notModified = await f.get('mirror/a.bin', { headers: { 'if-none-match': `"${sha256(body)}"` } })
    assert.equal(notModified.status, 304)
    assert.equal(notModified.headers['x-accel-redirect'], undefined)
  })

  it('sends a copy stored with a Content-Encoding itself', async () => {
    const body = testBytes(3000)
    f.upstream.on('/files/b.gz', serveFile(body, { headers: { 'content-encoding': 'gzip' } }))
    await f.get('mirror/b.gz')
    await f.untilHit('mirror/b.gz')
    const hit = await f.get('mirror/b.gz')
    assert.equal(hit.headers['content-encoding'], 'gzip')
    assert.equal(hit.headers['x-accel-redirect'], undefined)
    assert.ok(hit.body.equals(body))
  })

  it('never names an artifact swapped for a link out of the store', async () => {
    const body = testBytes(5000)
    f.upstream.on('/files/link.bin', serveFile(body))
    await f.get('mirror/link.bin')
    await f.untilHit('mirror/link.bin')
    assert.ok((await f.get('mirror/link.bin')).headers['x-accel-redirect'] !== undefined)
    const file = path.join(f.t.dataDir, artifactOf(body))
    await rename(file, `${file}.kept`)
    await symlink(outside.secretPath, file)
    try {
      for (let i = 0; i < 5; i++) {
        const res = await f.get('mirror/link.bin')
        assert.equal(res.status, 404)
        assert.equal(res.headers['x-accel-redirect'], undefined)
        assert.ok(!res.body.toString().includes(outside.secret))
      }
    } finally {
      await unlink(file)
      await rename(`${file}.kept`, file)
    }
    assert.equal((await f.get('mirror/link.bin')).headers['x-accel-redirect'], `/_f/${artifactOf(body)}`)
  })
})
