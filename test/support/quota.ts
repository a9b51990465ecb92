import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import type { Knex } from 'knex'
import { openConnection } from '../../lib/storage/connection'
import type { DialectName } from './databases'
import { eventually } from './fs-wait'
import { scrapeMetrics } from './metrics-text'
import { API, api } from './publish-env'
import { serveFile, testBytes } from './upstream-faults'
import { startPullThrough, type PullThroughFixture } from './upstream-pulp'

/** The size of the files the quota tests pull unless they say otherwise. */
export const SIZE = 1000

/** A remote on an upstream directory of its own and the distribution at `base` using it. */
export interface Mirror { remote: string, distribution: string, dir: string, base: string }

/** What the pull-through quota tests do through one fixture: pulls, HITs, limits, evictions. */
export interface QuotaHelpers {
  mirror: (base: string, limit: number | null) => Promise<Mirror>
  setLimit: (distribution: string, limit: number | null) => Promise<void>
  pull: (m: Mirror, name: string, body?: Buffer) => Promise<Buffer>
  hit: (m: Mirror, name: string, body: Buffer) => Promise<void>
  reclaim: (distribution: string) => Promise<Record<string, unknown>>
  untilEvictions: (distribution: string, n: number) => Promise<void>
  cacheBytes: (distribution: string) => Promise<number | undefined>
}

/**
 * Inside a `describe`: an instance with an upstream (started before its tests, closed after),
 * a connection of the test's own to its database, and the helpers.
 */
export function quotaSuite (dialect: DialectName): { f: PullThroughFixture, knex: Knex, q: QuotaHelpers } {
  const suite = {} as { f: PullThroughFixture, knex: Knex, q: QuotaHelpers }
  before(async () => {
    suite.f = await startPullThrough({ dialect, runner: { pollInterval: 0.05 } })
    suite.knex = openConnection(suite.f.t.database, suite.f.t.dataDir).knex
    suite.q = quotaHelpers(suite.f)
  })
  after(async () => {
    await suite.knex?.destroy()
    await suite.f?.cleanup()
  })
  return suite
}

export function quotaHelpers (f: PullThroughFixture): QuotaHelpers {
  let dirs = 0
  const setLimit = async (distribution: string, limit: number | null): Promise<void> => {
    const res = await api(f.t).patch(`${API}/distributions/${distribution}`).send({ cache_max_bytes: limit }).expect(200)
    assert.equal(res.body.cache_max_bytes, limit)
  }
  const evictions = async (distribution: string): Promise<number> =>
    (await scrapeMetrics(f.port, API)).get(`pulp_cache_evictions_total{distribution="${distribution}"}`) ?? 0
  return {
    setLimit,
    async mirror (base, limit) {
      const dir = `q${++dirs}`
      const wired = await f.wire(base, { dir: `${dir}/` })
      if (limit !== null) await setLimit(wired.distribution, limit)
      return { ...wired, dir, base }
    },
    /** Serves `name` upstream, pulls it through the mirror and waits until it is a HIT. */
    async pull (m, name, body = testBytes(SIZE)) {
      f.upstream.on(`/${m.dir}/${name}`, serveFile(body))
      const res = await f.get(`${m.base}/${name}`)
      assert.equal(res.status, 200)
      assert.ok(res.body.equals(body))
      await f.untilHit(`${m.base}/${name}`)
      return body
    },
    async hit (m, name, body) {
      const res = await f.get(`${m.base}/${name}`)
      assert.equal(res.headers['x-pulp-cache'], 'HIT', `${name} is served from the cache`)
      assert.ok(res.body.equals(body))
    },
    async reclaim (distribution) {
      return (await api(f.t).post(`${API}/distributions/${distribution}/reclaim`).expect(200)).body as Record<string, unknown>
    },
    /** Until this instance counted `n` evictions for the distribution (its runs are in the background). */
    async untilEvictions (distribution, n) {
      await eventually(async () => await evictions(distribution) === n, 10_000, `${n} evictions in ${distribution}`)
    },
    async cacheBytes (distribution) {
      return (await api(f.t).get(`${API}/status`).expect(200)).body.disk.distributions[distribution] as number | undefined
    }
  }
}
