import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { mkdir, symlink } from 'node:fs/promises'
import path from 'node:path'
import type { Knex } from 'knex'
import { advisoryKey } from '../../lib/storage/advisory-locks'
import { openConnection } from '../../lib/storage/connection'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { scrapeMetrics } from '../support/metrics-text'
import { API, api } from '../support/publish-env'
import { serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const SIZE = 1000

for (const d of dialects()) {
  describe(`pull-through quota eviction (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let knex: Knex
    let dirs = 0
    before(async () => {
      f = await startPullThrough({ dialect: d.name, runner: { pollInterval: 0.05 } })
      knex = openConnection(f.t.database, f.t.dataDir).knex
    })
    after(async () => {
      await knex?.destroy()
      await f?.cleanup()
    })

    /** A remote on a directory of its own and a distribution at `base` using it. */
    async function mirror (base: string, limit: number | null): Promise<{ remote: string, distribution: string, dir: string, files: Map<string, Buffer> }> {
      const dir = `q${++dirs}`
      const wired = await f.wire(base, { dir: `${dir}/` })
      if (limit !== null) await setLimit(wired.distribution, limit)
      return { ...wired, dir, files: new Map() }
    }
    async function setLimit (distribution: string, limit: number | null): Promise<void> {
      const res = await api(f.t).patch(`${API}/distributions/${distribution}`).send({ cache_max_bytes: limit }).expect(200)
      assert.equal(res.body.cache_max_bytes, limit)
    }
    /** Serves `name` upstream, pulls it through `base` and waits until it is a HIT. */
    async function pull (m: { dir: string, files: Map<string, Buffer> }, base: string, name: string, body = testBytes(SIZE)): Promise<Buffer> {
      f.upstream.on(`/${m.dir}/${name}`, serveFile(body))
      m.files.set(name, body)
      const res = await f.get(`${base}/${name}`)
      assert.equal(res.status, 200)
      assert.ok(res.body.equals(body))
      await f.untilHit(`${base}/${name}`)
      return body
    }
    async function hit (base: string, name: string, body: Buffer): Promise<void> {
      const res = await f.get(`${base}/${name}`)
      assert.equal(res.headers['x-pulp-cache'], 'HIT', `${name} is served from the cache`)
      assert.ok(res.body.equals(body))
    }
    const evictions = async (distribution: string): Promise<number> =>
      (await scrapeMetrics(f.port, API)).get(`pulp_cache_evictions_total{distribution="${distribution}"}`) ?? 0
    const untilEvictions = async (distribution: string, n: number): Promise<void> => {
      await eventually(async () => await evictions(distribution) === n, 10_000, `${n} evictions in ${distribution}`)
    }
    const cacheBytes = async (distribution: string): Promise<number | undefined> =>
      (await api(f.t).get(`${API}/status`).expect(200)).body.disk.distributions[distribution] as number | undefined

    it('evicts the least recently served first, as requests served them, and leaves the rest', async () => {
      const m = await mirror('order', 3 * SIZE + SIZE / 2)
      const a = await pull(m, 'order', 'a.bin')
      const b = await pull(m, 'order', 'b.bin')
      const c = await pull(m, 'order', 'c.bin')
      assert.equal(await cacheBytes(m.distribution), 3 * SIZE)
      // a, pulled first, is served after b and c were pulled: b is now the least recently served.
      await hit('order', 'a.bin', a)
      await hit('order', 'c.bin', c)
      const d1 = await pull(m, 'order', 'd.bin')
      await untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(b), false, 'b went')
      for (const [name, body] of [['a', a], ['c', c], ['d', d1]] as const) assert.ok(await f.stored(body), `${name} stays`)
      assert.equal(await cacheBytes(m.distribution), 3 * SIZE)
      // c was pulled after a but a is served again: c goes next.
      await hit('order', 'a.bin', a)
      await hit('order', 'd.bin', d1)
      const e = await pull(m, 'order', 'e.bin')
      await untilEvictions(m.distribution, 2)
      assert.equal(await f.stored(c), false, 'c went')
      for (const [name, body] of [['a', a], ['d', d1], ['e', e]] as const) assert.ok(await f.stored(body), `${name} stays`)
      const metrics = await scrapeMetrics(f.port, API)
      assert.equal(metrics.get(`pulp_cache_evicted_bytes_total{distribution="${m.distribution}"}`), 2 * SIZE)
      // Their records stay: the paths, their units and the artifact rows (marked evicted).
      const rows = await knex('pulp_remote_artifacts').where({ remote_name: m.remote }).whereIn('relative_path', ['b.bin', 'c.bin'])
      assert.equal(rows.length, 2)
      assert.ok(rows.every((r: { unit_id: string | null }) => r.unit_id !== null))
      const evicted = await knex('pulp_artifacts').whereIn('sha256', [sha256(b), sha256(c)]).whereNotNull('evicted')
      assert.equal(evicted.length, 2)
    })

    it('pulls an evicted path again: the upstream is asked a second time and the bytes are the same', async () => {
      const m = await mirror('again', SIZE + SIZE / 2)
      const x = await pull(m, 'again', 'x.bin')
      const y = await pull(m, 'again', 'y.bin')
      await untilEvictions(m.distribution, 1)
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
      await untilEvictions(m.distribution, 2)
      assert.equal(await f.stored(y), false)
      await hit('again', 'x.bin', x)
      assert.equal(await cacheBytes(m.distribution), SIZE)
    })

    it('never evicts a file a live or grace-period publication links to', async () => {
      const m = await mirror('published', null)
      const live = await pull(m, 'published', 'live.bin')
      const grace = await pull(m, 'published', 'grace.bin')
      const plain = await pull(m, 'published', 'plain.bin')
      // The same unit (type, path, bytes) uploaded to a repository, published, then removed from
      // it: only the live publication still needs its bytes.
      const { pulp } = f.t
      await pulp.repositories.create({ id: 'site' })
      const unit = await pulp.repositories.addContent('site', { file: live, relativePath: 'live.bin' })
      const pulled = await knex('pulp_remote_artifacts').where({ remote_name: m.remote, relative_path: 'live.bin' }).first()
      assert.equal(pulled.unit_id, unit.id, 'the pulled path and the upload are one unit')
      await pulp.distributors.add('site', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'site' } })
      const task = await pulp.publish('site', 'web')
      assert.equal((await pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished')
      await pulp.repositories.removeContent('site', unit.id)
      // A superseded tree still on disk links to grace.bin's artifact.
      const graceDir = path.join(f.t.dataDir, 'publications', 'old', 'web', 'superseded')
      const graceSha = sha256(grace)
      await mkdir(graceDir, { recursive: true })
      await symlink(path.join(f.t.dataDir, 'artifacts', graceSha.slice(0, 2), graceSha.slice(2)), path.join(graceDir, 'grace.bin'))

      await setLimit(m.distribution, 0)
      await untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(plain), false, 'what nothing links to goes')
      assert.ok(await f.stored(live), 'the live publication keeps its file')
      assert.ok(await f.stored(grace), 'the grace-period publication keeps its file')
      const published = await f.get('site/live.bin')
      assert.equal(published.status, 200)
      assert.ok(published.body.equals(live))
      await hit('published', 'grace.bin', grace)
    })

    it('keeps a file something else needs: another repository, another distribution, a metadata cache entry', async () => {
      const m = await mirror('shared', null)
      const other = await mirror('elsewhere', null)
      const uploaded = await pull(m, 'shared', 'uploaded.bin')
      const cachedTwice = await pull(m, 'shared', 'twice.bin')
      const page = Buffer.from('<html>the same bytes as a cached metadata page</html>')
      const asMetadata = await pull(m, 'shared', 'page.html', page)
      const alone = await pull(m, 'shared', 'alone.bin')
      await f.t.pulp.repositories.create({ id: 'users' })
      await f.t.pulp.repositories.addContent('users', { file: uploaded, relativePath: 'a/copy.bin' })
      await pull(other, 'elsewhere', 'same.bin', cachedTwice)
      // A path ending in "/" is metadata: cached as an entry, with no unit.
      f.upstream.on(`/${other.dir}/index/`, serveFile(page))
      assert.equal((await f.get('elsewhere/index/')).status, 200)
      await f.untilHit('elsewhere/index/')

      await setLimit(m.distribution, 0)
      await untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(alone), false, 'a file only this cache holds goes')
      assert.ok(await f.stored(uploaded), 'a user\'s upload in another repository keeps it')
      assert.ok(await f.stored(cachedTwice), 'another distribution\'s cache keeps it')
      assert.ok(await f.stored(asMetadata), 'a metadata cache entry keeps it')
      assert.equal(await cacheBytes(m.distribution), uploaded.length + cachedTwice.length + page.length)
      // Once the upload has left its repository and orphan cleanup removed its unit, its bytes may go too.
      const [unit] = (await f.t.pulp.repositories.listContent('users')).results
      await f.t.pulp.repositories.removeContent('users', unit.id)
      const task = await f.t.pulp.orphans.cleanup({ orphanProtectionTime: 0 })
      assert.equal((await f.t.pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished')
      assert.equal(await knex('pulp_units').where({ id: unit.id }).first(), undefined)
      await setLimit(m.distribution, 1)
      await untilEvictions(m.distribution, 2)
      assert.equal(await f.stored(uploaded), false)
    })

    it('evicts units of its own repository, unless that repository has a distributor (a publish would link them)', async () => {
      const reclaim = async (distribution: string): Promise<Record<string, unknown>> =>
        (await api(f.t).post(`${API}/distributions/${distribution}/reclaim`).expect(200)).body as Record<string, unknown>
      await f.t.pulp.repositories.create({ id: 'scratch' })
      await f.t.pulp.repositories.create({ id: 'to-publish' })
      await f.t.pulp.distributors.add('to-publish', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'to-publish' } })
      const scratch = await mirror('scratch', null)
      await api(f.t).patch(`${API}/distributions/${scratch.distribution}`).send({ repository: 'scratch' }).expect(200)
      const kept = await mirror('kept', null)
      await api(f.t).patch(`${API}/distributions/${kept.distribution}`).send({ repository: 'to-publish' }).expect(200)
      const s1 = await pull(scratch, 'scratch', 's.bin')
      const k1 = await pull(kept, 'kept', 'k.bin')
      assert.equal((await f.t.pulp.repositories.listContent('scratch')).count, 1)
      assert.equal((await f.t.pulp.repositories.listContent('to-publish')).count, 1)
      await api(f.t).patch(`${API}/distributions/${kept.distribution}`).send({ cache_max_bytes: 0 }).expect(200)
      await api(f.t).patch(`${API}/distributions/${scratch.distribution}`).send({ cache_max_bytes: 0 }).expect(200)
      assert.deepEqual(await reclaim(kept.distribution), { files: 0, bytes: 0, cached: SIZE, busy: false })
      assert.ok(await f.stored(k1))
      await untilEvictions(scratch.distribution, 1)
      assert.equal(await f.stored(s1), false)
      assert.equal((await f.t.pulp.repositories.listContent('scratch')).count, 1, 'the unit stays in its repository')
    })

    it('lets a download under way of an evicted file finish with the right bytes', async () => {
      const m = await mirror('inflight', null)
      // Larger than every socket buffer between the two ends: most of it is read after the unlink.
      const big = await pull(m, 'inflight', 'big.bin', testBytes(24 * 1024 * 1024))
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
      await setLimit(m.distribution, 0)
      await untilEvictions(m.distribution, 1)
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

    it('evicts on one instance at a time: another holding the remote\'s lock is left to it', {
      skip: d.name === 'postgresql' ? false : 'an advisory lock of PostgreSQL; SQLite has one writer at a time'
    }, async () => {
      const m = await mirror('locked', null)
      const one = await pull(m, 'locked', 'one.bin')
      const two = await pull(m, 'locked', 'two.bin')
      await knex.transaction(async (trx) => {
        // What another instance evicting for this remote holds.
        await trx.raw('select pg_advisory_xact_lock(?::bigint)', [advisoryKey(`pulp:cache-quota:${m.remote}`)])
        await setLimit(m.distribution, SIZE)
        const busy = await api(f.t).post(`${API}/distributions/${m.distribution}/reclaim`).expect(200)
        assert.deepEqual(busy.body, { files: 0, bytes: 0, cached: 2 * SIZE, busy: true })
        assert.ok(await f.stored(one))
      })
      const done = await api(f.t).post(`${API}/distributions/${m.distribution}/reclaim`).expect(200)
      assert.deepEqual(done.body, { files: 1, bytes: SIZE, cached: SIZE, busy: false })
      assert.equal(await f.stored(one), false)
      assert.ok(await f.stored(two))
    })
  })
}
