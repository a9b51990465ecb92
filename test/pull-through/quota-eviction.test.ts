import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { advisoryKey } from '../../lib/storage/advisory-locks'
import { openConnection } from '../../lib/storage/connection'
import { dialects } from '../support/databases'
import { scrapeMetrics } from '../support/metrics-text'
import { API, api } from '../support/publish-env'
import { quotaSuite, SIZE } from '../support/quota'
import { serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`pull-through quota eviction (${d.name})`, { skip: d.skip }, () => {
    const suite = quotaSuite(d.name)

    it('evicts the least recently served first, as requests served them, and leaves the rest', async () => {
      const { f, knex, q } = suite
      const artifactBytes = async (): Promise<number> => (await api(f.t).get(`${API}/status`).expect(200)).body.disk.artifacts as number
      const stored = await artifactBytes()
      const m = await q.mirror('order', 3 * SIZE + SIZE / 2)
      const a = await q.pull(m, 'a.bin')
      const b = await q.pull(m, 'b.bin')
      const c = await q.pull(m, 'c.bin')
      assert.equal(await q.cacheBytes(m.distribution), 3 * SIZE)
      // a, pulled first, is served after b and c were pulled: b is now the least recently served.
      await q.hit(m, 'a.bin', a)
      await q.hit(m, 'c.bin', c)
      const d1 = await q.pull(m, 'd.bin')
      await q.untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(b), false, 'b went')
      for (const [name, body] of [['a', a], ['c', c], ['d', d1]] as const) assert.ok(await f.stored(body), `${name} stays`)
      assert.equal(await q.cacheBytes(m.distribution), 3 * SIZE)
      // c was pulled after a but a is served again: c goes next.
      await q.hit(m, 'a.bin', a)
      await q.hit(m, 'd.bin', d1)
      const e = await q.pull(m, 'e.bin')
      await q.untilEvictions(m.distribution, 2)
      assert.equal(await f.stored(c), false, 'c went')
      for (const [name, body] of [['a', a], ['d', d1], ['e', e]] as const) assert.ok(await f.stored(body), `${name} stays`)
      const metrics = await scrapeMetrics(f.port, API)
      assert.equal(metrics.get(`pulp_cache_evicted_bytes_total{distribution="${m.distribution}"}`), 2 * SIZE)
      assert.equal(metrics.get('pulp_storage_bytes{kind="artifacts"}'), stored + 3 * SIZE, 'evicted bytes are not on disk')
      assert.equal(await artifactBytes(), stored + 3 * SIZE)
      // Their records stay: the paths, their units and the artifact rows (marked evicted).
      const rows = await knex('pulp_remote_artifacts').where({ remote_name: m.remote }).whereIn('relative_path', ['b.bin', 'c.bin'])
      assert.equal(rows.length, 2)
      assert.ok(rows.every((r: { unit_id: string | null }) => r.unit_id !== null))
      const evicted = await knex('pulp_artifacts').whereIn('sha256', [sha256(b), sha256(c)]).whereNotNull('evicted')
      assert.equal(evicted.length, 2)
    })

    it('pulls an evicted path again: the upstream is asked a second time and the bytes are the same', async () => {
      const { f, q } = suite
      const m = await q.mirror('again', SIZE + SIZE / 2)
      const x = await q.pull(m, 'x.bin')
      const y = await q.pull(m, 'y.bin')
      await q.untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(x), false)
      assert.equal(f.upstream.hits(`/${m.dir}/x.bin`, 'GET'), 1)
      const again = await f.get('again/x.bin')
      assert.equal(again.status, 200)
      assert.equal(again.headers['x-pulp-cache'], 'MISS')
      assert.ok(again.body.equals(x), 'the same bytes')
      assert.equal(f.upstream.hits(`/${m.dir}/x.bin`, 'GET'), 2, 'the upstream saw a second request')
      await f.untilHit('again/x.bin')
      assert.ok(await f.stored(x), 'stored again')
      // Saving it put the cache over its limit again: y, now the least recently served, went.
      await q.untilEvictions(m.distribution, 2)
      assert.equal(await f.stored(y), false)
      await q.hit(m, 'x.bin', x)
      assert.equal(await q.cacheBytes(m.distribution), SIZE)
    })

    it('lets a download under way of an evicted file finish with the right bytes', async () => {
      const { f, q } = suite
      const m = await q.mirror('inflight', null)
      // Larger than every socket buffer between the two ends: most of it is read after the unlink.
      const big = await q.pull(m, 'big.bin', testBytes(24 * 1024 * 1024))
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: f.port, path: '/pulp/content/inflight/big.bin', agent: false }, resolve).on('error', reject).end()
      })
      assert.equal(res.headers['x-pulp-cache'], 'HIT')
      const chunks: Buffer[] = []
      let received = 0
      const first = new Promise<void>((resolve) => res.once('data', (chunk: Buffer) => {
        res.pause()
        chunks.push(chunk)
        received += chunk.length
        resolve()
      }))
      await first
      await q.setLimit(m.distribution, 0)
      await q.untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(big), false, 'the file is gone from the store')
      assert.ok(received < big.length / 2, `only ${received} bytes arrived before the eviction`)
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      await new Promise((resolve, reject) => { res.on('end', resolve).on('error', reject); res.resume() })
      assert.ok(res.complete)
      assert.ok(Buffer.concat(chunks).equals(big), 'the whole file, as stored')
      // The next request pulls it again.
      const again = await f.get('inflight/big.bin')
      assert.equal(again.headers['x-pulp-cache'], 'MISS')
      assert.ok(again.body.equals(big))
    })

    it('writes the served times it kept in memory when it closes', async () => {
      const other = await startPullThrough({ dialect: d.name })
      try {
        const body = testBytes(SIZE)
        other.upstream.on('/files/late.bin', serveFile(body))
        const { distribution, remote } = await other.wire('late')
        await other.t.pulp.distributions.update(distribution, { cacheMaxBytes: 10 * SIZE })
        assert.equal((await other.get('late/late.bin')).status, 200)
        await other.untilHit('late/late.bin')
        const before = Date.now()
        assert.equal((await other.get('late/late.bin')).headers['x-pulp-cache'], 'HIT')
        await other.t.pulp.close()
        const db = openConnection(other.t.database, other.t.dataDir).knex
        try {
          const row = await db('pulp_remote_artifacts').where({ remote_name: remote, relative_path: 'late.bin' }).first()
          assert.ok(row.last_served !== null && Date.parse(row.last_served) >= before, `last served ${String(row.last_served)}`)
        } finally {
          await db.destroy()
        }
      } finally {
        await other.cleanup()
      }
    })

    it('evicts on one instance at a time: another holding the remote\'s lock is left to it', {
      skip: d.name === 'postgresql' ? false : 'an advisory lock of PostgreSQL; SQLite has one writer at a time'
    }, async () => {
      const { f, knex, q } = suite
      const m = await q.mirror('locked', null)
      const one = await q.pull(m, 'one.bin')
      const two = await q.pull(m, 'two.bin')
      await knex.transaction(async (trx) => {
        // What another instance evicting for this remote holds.
        await trx.raw('select pg_advisory_xact_lock(?::bigint)', [advisoryKey(`pulp:cache-quota:${m.remote}`)])
        await q.setLimit(m.distribution, SIZE)
        assert.deepEqual(await q.reclaim(m.distribution), { files: 0, bytes: 0, cached: 2 * SIZE, busy: true })
        assert.ok(await f.stored(one))
      })
      assert.deepEqual(await q.reclaim(m.distribution), { files: 1, bytes: SIZE, cached: SIZE, busy: false })
      assert.equal(await f.stored(one), false)
      assert.ok(await f.stored(two))
    })
  })
}
