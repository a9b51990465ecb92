import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import request from 'supertest'
import { openConnection } from '../../lib/storage/connection'
import { dialects } from '../support/databases'
import { ChangingFile } from '../support/upstream-metadata'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const TTL = 1
/** How long an instance trusts the health it read (see lib/pull-through/health.ts). */
const TRUST_MS = 1000

for (const d of dialects()) {
  describe(`upstream health (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let knex: Knex
    let remote: string
    const manifest = new ChangingFile('cached\n')
    const broken = new ChangingFile('never\n')
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      knex = openConnection(f.t.database, f.t.dataDir).knex
      remote = (await f.wire('h', { dir: 'h/', maxFailures: 3, metadataTtl: TTL, staleIfError: 600 })).remote
      f.upstream.on('/h/PULP_MANIFEST', manifest.handler)
      f.upstream.on('/h/file.bin', new ChangingFile('immutable\n').handler)
      f.upstream.on('/h/broken.bin', broken.handler)
      for (const path of ['h/PULP_MANIFEST', 'h/file.bin']) {
        assert.equal((await f.get(path)).status, 200)
        await f.untilHit(path)
      }
    })
    after(async () => {
      await knex?.destroy()
      await f?.cleanup()
    })

    const health = async (): Promise<Record<string, unknown>> =>
      (await request(f.t.app).get(`/pulp/api/v1/remotes/${remote}`).expect(200)).body.health as Record<string, unknown>
    /**
     * The health once `settled` holds (or after 5 s, for the asserts to say what it is): an
     * upstream's answer is recorded in the database after its client got the 502, never awaited.
     */
    const healthOnce = async (settled: (h: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      const until = Date.now() + 5000
      for (;;) {
        const h = await health()
        if (settled(h) || Date.now() > until) return h
        await sleep(20)
      }
    }

    it('shows an upstream that answers as up', async () => {
      assert.deepEqual(await health(), { state: 'up', consecutive_failures: 0, down_since: null, retry_at: null })
    })

    it('marks the remote down after max_failures consecutive 5xx', async () => {
      broken.mode = { kind: 'status', code: 503 }
      for (let i = 0; i < 3; i++) assert.equal((await f.get('h/broken.bin')).status, 502)
      const h = await healthOnce((h) => h.state === 'down')
      assert.equal(h.state, 'down')
      assert.equal(h.consecutive_failures, 3)
      const backoff = Date.parse(String(h.retry_at)) - Date.parse(String(h.down_since))
      assert.ok(backoff >= 29_000 && backoff <= 31_000, `a 30 s back-off, got ${backoff} ms`)
    })

    it('answers a miss 502 at once while down, naming the remote and its retry time', async () => {
      await sleep(TRUST_MS)
      const asked = f.upstream.log.length
      const res = await f.get('h/other.bin')
      assert.equal(res.status, 502)
      const { error } = JSON.parse(res.body.toString()) as { error: { code: string, message: string } }
      assert.equal(error.code, 'ERR_PULP_UPSTREAM_DOWN')
      assert.match(error.message, new RegExp(`remote "${remote}" is down after 3 consecutive failures; it is tried again at \\d{4}-`))
      assert.equal(res.headers['cache-status'], 'pulp-middleware; detail=upstream-down')
      assert.equal(f.upstream.log.length, asked, 'no request reached the upstream')
    })

    it('serves cached and stale copies while down, asking nothing', async () => {
      const asked = f.upstream.log.length
      assert.equal((await f.get('h/file.bin')).headers['x-pulp-cache'], 'HIT')
      await sleep(TTL * 1000 + 100)
      const stale = await f.get('h/PULP_MANIFEST')
      assert.equal(stale.status, 200)
      assert.equal(stale.headers['x-pulp-cache'], 'STALE')
      assert.equal(stale.headers['cache-status'], 'pulp-middleware; hit; detail=upstream-down')
      assert.equal(stale.body.toString(), 'cached\n')
      assert.equal(f.upstream.log.length, asked)
    })

    it('sends one probe once the back-off is over; its success marks the remote up', async () => {
      // The back-off (30 s) runs out: the clock is the database's retry time.
      await knex('pulp_remote_health').where({ remote_name: remote }).update({ retry_at: new Date(Date.now() - 1000).toISOString() })
      await sleep(TRUST_MS)
      broken.mode = { kind: 'ok' }
      const asked = f.upstream.requestsFor('/h/broken.bin').length
      const results = await Promise.all(Array.from({ length: 5 }, async () => await f.get('h/broken.bin')))
      const probed = results.filter((r) => r.status === 200)
      assert.ok(probed.length >= 1, 'the probe got through')
      for (const r of results) assert.ok(r.status === 200 || r.status === 502, String(r.status))
      assert.equal(f.upstream.requestsFor('/h/broken.bin').length, asked + 1, 'one probe')
      assert.deepEqual(await healthOnce((h) => h.state === 'up'), { state: 'up', consecutive_failures: 0, down_since: null, retry_at: null })
      await sleep(TRUST_MS)
      assert.equal((await f.get('h/new.bin')).status, 404, 'requests reach the upstream again')
    })

    it('doubles the back-off when the probe fails', async () => {
      broken.mode = { kind: 'status', code: 500 }
      f.upstream.on('/h/broken2.bin', broken.handler)
      for (let i = 0; i < 3; i++) assert.equal((await f.get('h/broken2.bin')).status, 502)
      assert.equal((await healthOnce((h) => h.state === 'down')).state, 'down')
      await knex('pulp_remote_health').where({ remote_name: remote }).update({ retry_at: new Date(Date.now() - 1000).toISOString() })
      await sleep(TRUST_MS)
      const asked = f.upstream.requestsFor('/h/broken2.bin').length
      assert.equal((await f.get('h/broken2.bin')).status, 502, 'the probe fails')
      assert.equal(f.upstream.requestsFor('/h/broken2.bin').length, asked + 1)
      const h = await healthOnce((h) => h.state === 'down' && Date.parse(String(h.retry_at)) - Date.now() > 50_000)
      assert.equal(h.state, 'down')
      const backoff = Date.parse(String(h.retry_at)) - Date.now()
      assert.ok(backoff > 50_000 && backoff <= 61_000, `a 60 s back-off, got ${backoff} ms`)
    })
  })
}
