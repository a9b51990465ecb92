import path from 'node:path'
import { unlink } from 'node:fs/promises'
import type { PulpContext } from '../core/context'
import { linkedArtifacts } from '../orphans/publication-links'
import { AdvisoryLocks } from '../storage/advisory-locks'
import { cachedBytes, evictionCandidates, markEvicted, recordServed, type EvictionCandidate, type EvictionResult, type QuotaScope } from '../storage/cache-quota'
import { distributionsWithQuotas, findDistribution, type Distribution } from '../storage/distributions'

const NS = 'pulp:pull-through:quota'

/** How often the served times kept in memory are written (ms), and how often every quota is checked. */
const FLUSH_MS = 5000
const SWEEP_MS = 60_000
/**
 * Saves over the limit within this long (ms) share one eviction: each run walks
 * `publications/` (no manifest says what a tree links to), which a busy cache at its limit
 * would otherwise do after every miss.
 */
const SAVED_DELAY_MS = 500
const UNLINKS_AT_ONCE = 8

export type { EvictionResult }

const NOTHING: EvictionResult = Object.freeze({ files: 0, bytes: 0, cached: 0, busy: false })

/**
 * The pull-through quota of every distribution with `cacheMaxBytes` (pulpcore's "reclaim
 * space" model): when the immutable files cached through one exceed it, the least recently
 * served lose their bytes; their units and remote paths stay, so the next request for such a
 * path finds the file gone and pulls it again. Never evicted: bytes a publication (live,
 * grace-period or being built) links to, or that anything but this cache needs (see
 * storage/cache-quota.ts). A download under way keeps reading its open file after the unlink.
 *
 * Served times are kept in memory (a HIT adds one Map entry, no await) and written every few
 * seconds and on close. Eviction runs shortly after saves through a distribution with a
 * limit, when a limit changes, every minute and on request; on PostgreSQL an advisory lock
 * per remote lets one instance evict at a time.
 */
export class CacheQuota {
  readonly #ctx: PulpContext
  /** Last-served times not yet written, by remote then path. */
  #served = new Map<string, Map<string, number>>()
  #lastStamp = 0
  readonly #locks: AdvisoryLocks | undefined
  /** Evictions under way (by distribution), and those asked for again while running. */
  readonly #running = new Map<string, Promise<EvictionResult>>()
  readonly #again = new Set<string>()
  readonly #pending = new Set<Promise<unknown>>()
  /** Evictions asked for by saves, waiting for SAVED_DELAY_MS, by distribution. */
  readonly #soon = new Map<string, NodeJS.Timeout>()
  readonly #flushTimer: NodeJS.Timeout
  readonly #sweepTimer: NodeJS.Timeout
  #closed = false

  constructor (ctx: PulpContext) {
    this.#ctx = ctx
    this.#locks = ctx.dialect === 'postgresql' ? new AdvisoryLocks(ctx.knex) : undefined
    this.#flushTimer = setInterval(() => { this.#track(this.flush()) }, FLUSH_MS).unref()
    this.#sweepTimer = setInterval(() => { this.#track(this.#sweep()) }, SWEEP_MS).unref()
  }

  /**
   * A cached path was served: remembered, written with the next batch. Times only grow, so
   * the order in which this instance served paths survives equal clock readings.
   */
  served (remoteName: string, relativePath: string): void {
    let paths = this.#served.get(remoteName)
    if (paths === undefined) {
      paths = new Map()
      this.#served.set(remoteName, paths)
    }
    const at = Date.now()
    this.#lastStamp = at > this.#lastStamp ? at : this.#lastStamp + 1
    paths.set(relativePath, this.#lastStamp)
  }

  /** An immutable file was saved through `distribution`: check its limit, in the background. */
  saved (distribution: Distribution): void {
    const { name } = distribution
    if (distribution.cacheMaxBytes === null || this.#closed || this.#soon.has(name)) return
    this.#soon.set(name, setTimeout(() => {
      this.#soon.delete(name)
      this.#track(this.evict(name))
    }, SAVED_DELAY_MS).unref())
  }

  /** A distribution was created or changed: a limit set or lowered applies at once. */
  changed (distributionName: string): void {
    if (this.#closed) return
    this.#track(this.evict(distributionName))
  }

  /** Writes the served times kept in memory. */
  async flush (): Promise<void> {
    const batch = this.#served
    if (batch.size === 0) return
    this.#served = new Map()
    for (const [remoteName, paths] of batch) {
      try {
        await recordServed(this.#ctx.knex, remoteName, paths)
      } catch (err: unknown) {
        // Kept for the next batch, unless newer times arrived meanwhile.
        const now = this.#served.get(remoteName) ?? new Map<string, number>()
        for (const [p, at] of paths) if (!now.has(p)) now.set(p, at)
        this.#served.set(remoteName, now)
        this.#ctx.log.part(NS).warn({ err, remote: remoteName }, 'recording when cached files were served failed')
      }
    }
  }

  /**
   * Brings `distributionName`'s cache under its limit now; answers what went. A call while
   * one runs for the same distribution runs once more after it.
   */
  async evict (distributionName: string): Promise<EvictionResult> {
    const running = this.#running.get(distributionName)
    if (running !== undefined) {
      this.#again.add(distributionName)
      return await running
    }
    const run = (async () => {
      let total = { ...NOTHING }
      try {
        do {
          this.#again.delete(distributionName)
          const result = await this.#evictOnce(distributionName)
          total = { files: total.files + result.files, bytes: total.bytes + result.bytes, cached: result.cached, busy: result.busy }
        } while (this.#again.has(distributionName) && !this.#closed)
      } finally {
        this.#running.delete(distributionName)
      }
      return total
    })()
    this.#running.set(distributionName, run)
    return await run
  }

  /** Writes what is pending and stops the timers. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#flushTimer)
    clearInterval(this.#sweepTimer)
    for (const timer of this.#soon.values()) clearTimeout(timer)
    this.#soon.clear()
    await Promise.all([...this.#pending])
    await this.flush().catch(() => {})
    await this.#locks?.close()
  }

  async #evictOnce (distributionName: string): Promise<EvictionResult> {
    const distribution = await findDistribution(this.#ctx.knex, distributionName)
    if (distribution?.remote == null || distribution.cacheMaxBytes === null) return NOTHING
    const limit = distribution.cacheMaxBytes
    const scope: QuotaScope = { remoteName: distribution.remote, repository: distribution.repository }
    // The order is only as good as the times written: this instance's go first.
    await this.flush()
    const lock = this.#locks === undefined ? undefined : await this.#locks.tryLock(`pulp:cache-quota:${scope.remoteName}`)
    // Another instance evicts for this remote: its run sees what we saved.
    if (this.#locks !== undefined && lock === undefined) {
      return { ...NOTHING, cached: await cachedBytes(this.#ctx.knex, scope.remoteName), busy: true }
    }
    try {
      const cached = await cachedBytes(this.#ctx.knex, scope.remoteName)
      if (cached <= limit) return { ...NOTHING, cached }
      const linked = await linkedArtifacts(path.join(this.#ctx.options.dataDir, 'publications'))
      const doomed: string[] = []
      let freeing = 0
      for (const candidate of await evictionCandidates(this.#ctx.knex, scope)) {
        if (cached - freeing <= limit) break
        if (linked.has(candidate.sha256)) continue
        doomed.push(candidate.sha256)
        freeing += candidate.size
      }
      const marked = await markEvicted(this.#ctx.knex, scope, doomed, async (batch) => { await this.#unlink(batch) })
      const bytes = marked.reduce((sum, m) => sum + m.size, 0)
      this.#ctx.metrics?.cacheEvictions.inc({ distribution: distributionName }, marked.length)
      this.#ctx.metrics?.cacheEvictedBytes.inc({ distribution: distributionName }, bytes)
      if (marked.length > 0) {
        this.#ctx.log.part(NS).info({ distribution: distributionName, files: marked.length, bytes, limit },
          'evicted the least recently served files of a pull-through cache over its limit')
      }
      return { files: marked.length, bytes, cached: cached - bytes, busy: false }
    } finally {
      await lock?.unlock()
    }
  }

  async #unlink (batch: readonly EvictionCandidate[]): Promise<void> {
    for (let i = 0; i < batch.length; i += UNLINKS_AT_ONCE) {
      await Promise.all(batch.slice(i, i + UNLINKS_AT_ONCE).map(async ({ sha256 }) => {
        try {
          await unlink(this.#ctx.artifacts.pathOf(sha256))
        } catch (err: unknown) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
        }
      }))
    }
  }

  /** Every distribution with a limit: what saves on other instances (or a lowered limit) left over it. */
  async #sweep (): Promise<void> {
    for (const distribution of await distributionsWithQuotas(this.#ctx.knex)) {
      if (this.#closed) return
      await this.evict(distribution.name)
    }
  }

  #track (work: Promise<unknown>): void {
    const p = work.catch((err: unknown) => this.#ctx.log.part(NS).error({ err }, 'the pull-through quota failed'))
    this.#pending.add(p)
    void p.finally(() => this.#pending.delete(p))
  }
}
