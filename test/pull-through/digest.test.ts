import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { FileRemote, type UpstreamContext, type UpstreamTarget } from '../../lib'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/**
 * An index-driven remote type: `index.txt` (metadata) lists `<path> <algorithm> <hex>` lines;
 * a file is known upstream only if listed, and its bytes must match what the list says.
 */
class IndexedRemote extends FileRemote {
  static override metadata (): { id: string, displayName: string } { return { id: 'indexed', displayName: 'Indexed files' } }
  static override defaultMetadataPatterns (): string[] { return ['index.txt'] }

  override async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    const url = this.getRemoteArtifactUrl(relativePath, context.request)
    if (relativePath === 'index.txt') return { url }
    const index = await context.readCachedMetadata('index.txt')
    if (index === null) return { url }
    for (const line of index.toString().split('\n')) {
      const [p, algorithm, hex] = line.split(' ')
      if (p === relativePath) return { url, digest: { algorithm: algorithm as 'sha256', hex } }
    }
    return null
  }
}

const hex = (algorithm: string, bytes: Buffer): string => createHash(algorithm).update(bytes).digest('hex')

for (const d of dialects()) {
  describe(`digests from an index (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    const good = testBytes(300_000)
    const other = testBytes(300_000)
    const small = testBytes(5000)
    let index = ''
    let remote = ''
    before(async () => {
      f = await startPullThrough({ dialect: d.name, plugins: [{ remoteTypes: [IndexedRemote] }] })
      remote = (await f.wire('idx', { dir: 'idx/', remoteTypeId: 'indexed', metadataTtl: 600 })).remote
      f.upstream.on('/idx/index.txt', (_req, res) => { res.writeHead(200, { 'content-length': Buffer.byteLength(index) }); res.end(index) })
      index = [`good.bin sha256 ${hex('sha256', good)}`, `bad.bin sha256 ${hex('sha256', good)}`, `small.bin sha512 ${hex('sha512', small)}`].join('\n')
      assert.equal((await f.get('idx/index.txt')).status, 200)
      await f.untilHit('idx/index.txt')
    })
    after(async () => { await f?.cleanup() })

    it('serves and saves bytes that match the digest', async () => {
      f.upstream.on('/idx/good.bin', serveFile(good, { chunk: 65_536 }))
      f.upstream.on('/idx/small.bin', serveFile(small))
      const res = await f.get('idx/good.bin')
      assert.equal(res.status, 200)
      assert.ok(res.complete && res.body.equals(good))
      assert.equal(res.headers['content-length'], undefined, 'chunked until verified')
      await f.untilHit('idx/good.bin')
      const sha512 = await f.get('idx/small.bin')
      assert.ok(sha512.complete && sha512.body.equals(small))
      await f.untilHit('idx/small.bin')
      assert.equal((await f.get('idx/small.bin')).headers['x-pulp-cache'], 'HIT', 'the sha512 it was verified with is kept')
    })

    it('cuts the connection on a mismatch, saves nothing, and tries again next time', async () => {
      f.upstream.on('/idx/bad.bin', serveFile(other, { chunk: 65_536 }))
      const res = await f.get('idx/bad.bin')
      assert.equal(res.status, 200)
      assert.equal(res.complete, false, 'the client sees a cut body, never a whole one')
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'the temp file to go')
      assert.equal(await f.stored(other), false)
      assert.equal((await f.get('idx/bad.bin')).complete, false)
      assert.equal(f.upstream.hits('/idx/bad.bin'), 2, 'nothing remembered: asked again')
    })

    it('answers 404 without asking the upstream for a path the index does not list', async () => {
      const res = await f.get('idx/unlisted.bin')
      assert.equal(res.status, 404)
      assert.equal(f.upstream.hits('/idx/unlisted.bin'), 0)
    })

    it('refetches a cached copy the index no longer agrees with', async () => {
      const next = testBytes(2000)
      f.upstream.on('/idx/good.bin', serveFile(next))
      assert.equal((await f.get('idx/good.bin')).headers['x-pulp-cache'], 'HIT')
      index = index.replace(`good.bin sha256 ${hex('sha256', good)}`, `good.bin sha256 ${hex('sha256', next)}`)
      // A new generation of the index, fetched once the copy expired (the update makes it so).
      await f.t.pulp.remotes.update(remote, { metadataTtl: 0 })
      assert.equal((await f.get('idx/index.txt')).body.toString(), index)
      let res = await f.get('idx/good.bin')
      await eventually(async () => { res = await f.get('idx/good.bin'); return res.body.equals(next) }, 5000, 'the new bytes')
      assert.ok(res.complete)
      assert.equal(f.upstream.hits('/idx/good.bin'), 2, 'fetched again once, for the new digest')
    })
  })
}
