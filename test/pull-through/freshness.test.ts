import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { dialects } from '../support/databases'
import { ChangingFile } from '../support/upstream-metadata'
import { fetchRaw, startPullThrough, startSecondInstance, type PullThroughFixture } from '../support/upstream-pulp'

// Long enough for a loaded machine to see a fresh copy, short enough to wait for its expiry.
const TTL = 2.5

for (const d of dialects()) {
  describe(`metadata freshness (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('meta', { dir: 'meta/', metadataTtl: TTL })
      await f.t.pulp.repositories.create({ id: 'meta-repo' })
      await f.wire('metarepo', { dir: 'metarepo/', metadataTtl: 600 }, 'meta-repo')
    })
    after(async () => { await f?.cleanup() })

    it('serves a fresh copy with Age, then revalidates once it expired: 304 keeps it', async () => {
      const manifest = new ChangingFile('a.bin,aaaa,1\n')
      f.upstream.on('/meta/PULP_MANIFEST', manifest.handler)
      const first = await f.get('meta/PULP_MANIFEST')
      assert.equal(first.status, 200)
      assert.equal(first.headers['x-pulp-cache'], 'MISS')
      assert.equal(first.headers['cache-status'], 'pulp-middleware; fwd=miss; stored')
      assert.equal(first.body.toString(), 'a.bin,aaaa,1\n')
      await f.untilHit('meta/PULP_MANIFEST')

      const hit = await f.get('meta/PULP_MANIFEST')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.match(String(hit.headers['cache-status']), /^pulp-middleware; hit; ttl=\d+$/)
      assert.equal(hit.headers.age, '0')
      assert.equal(hit.headers['content-type'], 'text/plain; charset=utf-8')
      assert.equal(f.upstream.hits('/meta/PULP_MANIFEST'), 1, 'a fresh copy asks nothing')

      await sleep(TTL * 1000 + 100)
      const again = await f.get('meta/PULP_MANIFEST')
      assert.equal(again.status, 200)
      assert.equal(again.headers['x-pulp-cache'], 'REVALIDATED')
      assert.equal(again.headers['cache-status'], 'pulp-middleware; fwd=stale; fwd-status=304')
      assert.equal(again.body.toString(), 'a.bin,aaaa,1\n')
      const conditional = f.upstream.requestsFor('/meta/PULP_MANIFEST')[1]
      assert.equal(conditional.headers['if-none-match'], manifest.etag)
      assert.ok(conditional.headers['if-modified-since'] !== undefined)
      assert.equal(manifest.count(304), 1)
      assert.equal((await f.get('meta/PULP_MANIFEST')).headers['x-pulp-cache'], 'HIT', 'fresh again after the 304')
      assert.equal(f.upstream.hits('/meta/PULP_MANIFEST'), 2)
    })

    it('replaces an expired copy the upstream changed (200 -> MISS), and forgets it on 404', async () => {
      const manifest = new ChangingFile('v1\n')
      f.upstream.on('/meta/sub/PULP_MANIFEST', manifest.handler)
      assert.equal((await f.get('meta/sub/PULP_MANIFEST')).body.toString(), 'v1\n')
      await f.untilHit('meta/sub/PULP_MANIFEST')
      manifest.replace('v2, longer\n')
      assert.equal((await f.get('meta/sub/PULP_MANIFEST')).body.toString(), 'v1\n', 'still fresh')
      await sleep(TTL * 1000 + 100)
      const changed = await f.get('meta/sub/PULP_MANIFEST')
      assert.equal(changed.headers['x-pulp-cache'], 'MISS')
      assert.equal(changed.headers['cache-status'], 'pulp-middleware; fwd=stale; fwd-status=200; stored')
      assert.equal(changed.body.toString(), 'v2, longer\n')
      await f.untilHit('meta/sub/PULP_MANIFEST')
      const hit = await f.get('meta/sub/PULP_MANIFEST')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.equal(hit.body.toString(), 'v2, longer\n')

      await sleep(TTL * 1000 + 100)
      manifest.mode = { kind: 'status', code: 404 }
      const gone = await f.get('meta/sub/PULP_MANIFEST')
      assert.equal(gone.status, 404)
      const remembered = await f.get('meta/sub/PULP_MANIFEST')
      assert.equal(remembered.status, 404)
      assert.equal(remembered.headers['x-pulp-cache'], 'HIT', 'the 404 is remembered, the copy forgotten')
      assert.equal(manifest.count(404), 1)
    })

    it('shares one conditional request among 20 clients of an expired path', async () => {
      const manifest = new ChangingFile('shared\n')
      f.upstream.on('/meta/c/PULP_MANIFEST', manifest.handler)
      await f.get('meta/c/PULP_MANIFEST')
      await f.untilHit('meta/c/PULP_MANIFEST')
      await sleep(TTL * 1000 + 100)
      const results = await Promise.all(Array.from({ length: 20 }, async () => await f.get('meta/c/PULP_MANIFEST')))
      for (const r of results) {
        assert.equal(r.status, 200)
        assert.equal(r.body.toString(), 'shared\n')
        assert.ok(['REVALIDATED', 'HIT'].includes(String(r.headers['x-pulp-cache'])), String(r.headers['x-pulp-cache']))
      }
      assert.equal(f.upstream.hits('/meta/c/PULP_MANIFEST'), 2, 'one fetch, then one conditional request')
      assert.equal(manifest.count(304), 1)
    })

    it('never adds metadata to the distribution\'s repository, only immutable files', async () => {
      f.upstream.on('/metarepo/PULP_MANIFEST', new ChangingFile('x\n').handler)
      f.upstream.on('/metarepo/x.bin', new ChangingFile('bytes').handler)
      assert.equal((await f.get('metarepo/PULP_MANIFEST')).status, 200)
      assert.equal((await f.get('metarepo/x.bin')).status, 200)
      await f.untilHit('metarepo/x.bin')
      const units = await f.t.pulp.repositories.listContent('meta-repo')
      assert.deepEqual(units.results.map((u) => u.relativePath), ['x.bin'])
    })

    it('a second instance that remembers an expired copy follows what the first one recorded since', async () => {
      const manifest = new ChangingFile('two\n')
      f.upstream.on('/meta/two/PULP_MANIFEST', manifest.handler)
      assert.equal((await f.get('meta/two/PULP_MANIFEST')).status, 200)
      await f.untilHit('meta/two/PULP_MANIFEST')
      const { port, close } = await startSecondInstance(f)
      try {
        const fromOther = async (): Promise<{ status: number, cache: string, body: string }> => {
          const r = await fetchRaw(port, '/pulp/content/meta/two/PULP_MANIFEST')
          return { status: r.status, cache: String(r.headers['x-pulp-cache']), body: r.body.toString() }
        }
        assert.deepEqual(await fromOther(), { status: 200, cache: 'HIT', body: 'two\n' }, 'read from the database, now remembered')

        // The first instance revalidates; the second, whose memory says expired, must not ask again.
        await sleep(TTL * 1000 + 100)
        assert.equal((await f.get('meta/two/PULP_MANIFEST')).headers['x-pulp-cache'], 'REVALIDATED')
        assert.deepEqual(await fromOther(), { status: 200, cache: 'HIT', body: 'two\n' })
        assert.equal(f.upstream.hits('/meta/two/PULP_MANIFEST'), 2, 'one fetch and one conditional request in all')

        // The first instance learns the path is gone; the second must not revalidate the copy it remembers.
        await sleep(TTL * 1000 + 100)
        manifest.mode = { kind: 'status', code: 404 }
        assert.equal((await f.get('meta/two/PULP_MANIFEST')).status, 404)
        const after404 = await fromOther()
        assert.equal(after404.status, 404)
        assert.equal(after404.cache, 'HIT', 'the 404 the first instance recorded')
        assert.equal(f.upstream.hits('/meta/two/PULP_MANIFEST'), 3)
        assert.equal(manifest.count(304), 1)
      } finally {
        await close()
      }
    })
  })
}
