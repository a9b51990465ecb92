import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { FileContent, FileRemote, type ContentTypeClass } from '../../lib'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/** The contract's example: `.meta` paths are streamed, everything else is saved. */
class MetaRemote extends FileRemote {
  static override metadata (): { id: string, displayName: string } {
    return { id: 'meta-file', displayName: 'Files with streamed metadata' }
  }

  override getRemoteArtifactContentType (relativePath: string): ContentTypeClass | null {
    return relativePath.endsWith('.meta') ? null : FileContent
  }
}

for (const d of dialects()) {
  describe(`what pull-through saves (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      f.t.pulp.registry.registerRemoteType(MetaRemote)
      await f.wire('meta', { remoteTypeId: 'meta-file', dir: 'meta/' })
      await f.wire('streamed', { policy: 'streamed', dir: 'streamed/' })
      await f.wire('enc', { dir: 'enc/' })
    })
    after(async () => { await f?.cleanup() })

    it('streams paths a custom remote type marks as metadata and never saves them', async () => {
      const meta = testBytes(8000)
      const data = testBytes(9000)
      f.upstream.on('/meta/repo.meta', serveFile(meta)).on('/meta/pkg.bin', serveFile(data))
      for (let i = 0; i < 2; i++) {
        const res = await f.get('meta/repo.meta')
        assert.equal(res.headers['x-pulp-cache'], 'MISS')
        assert.ok(res.body.equals(meta))
        await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      }
      assert.equal(f.upstream.hits('/meta/repo.meta'), 2, 'metadata is fetched every time')
      assert.ok((await f.get('meta/pkg.bin')).body.equals(data))
      await f.untilHit('meta/pkg.bin')
      assert.ok(await f.stored(data))
      assert.equal(await f.stored(meta), false)
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
    })

    it('saves nothing under policy "streamed"', async () => {
      const body = testBytes(20_000)
      f.upstream.on('/streamed/a.bin', serveFile(body))
      for (let i = 0; i < 3; i++) {
        const res = await f.get('streamed/a.bin')
        assert.equal(res.headers['x-pulp-cache'], 'MISS')
        assert.ok(res.body.equals(body))
        // Once its temp file is gone the download is over: the next request starts afresh.
        await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      }
      assert.equal(f.upstream.hits('/streamed/a.bin'), 3, 'nothing saved: every request goes upstream')
      assert.equal(await f.stored(body), false)
    })

    it('keeps a Content-Encoding the upstream insists on: a HIT replays exactly what the MISS sent', async () => {
      const plain = Buffer.from('hello '.repeat(2000))
      const encoded = gzipSync(plain)
      f.upstream.on('/enc/notes.txt', serveFile(encoded, { headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' } }))
      const miss = await f.get('enc/notes.txt')
      assert.equal(miss.headers['content-encoding'], 'gzip')
      assert.ok(miss.body.equals(encoded), 'the bytes as received, not decoded')
      assert.equal(f.upstream.requestsFor('/enc/notes.txt')[0].headers['accept-encoding'], 'identity')
      await f.untilHit('enc/notes.txt')
      assert.ok(await f.stored(encoded), 'the encoded bytes stored')
      const hit = await f.get('enc/notes.txt')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.equal(hit.headers['content-encoding'], 'gzip')
      assert.equal(hit.headers['content-type'], 'text/plain')
      assert.ok(hit.body.equals(encoded))
    })
  })
}
