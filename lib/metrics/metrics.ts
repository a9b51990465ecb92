import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export const CONTENT_RESULTS = Object.freeze(['static', 'hit', 'miss', 'revalidated', 'stale', 'not_found', 'error'] as const)

/**
 * What the content path counts: plain numbers, one `++` per response, read by the registry
 * only when scraped. A prom-client `inc()` per request walks its label hash; this costs
 * nothing measurable (bench: "static tree, metrics on/off", "pull-through HIT, metrics on/off").
 */
export interface ContentCounts {
  static: number
  hit: number
  miss: number
  revalidated: number
  stale: number
  not_found: number
  error: number
  /** Body bytes sent by the content path (ranges count what they send). */
  servedBytes: number
}

/** What is read from the database and the disk at scrape time. */
export interface ScrapeSources {
  tasks: () => Promise<Record<string, number>>
  storage: () => Promise<Record<string, number>>
}

/** The Prometheus metrics of one middleware instance, on a registry of its own. */
export class PulpMetrics {
  readonly registry = new Registry()
  readonly content: ContentCounts = { static: 0, hit: 0, miss: 0, revalidated: 0, stale: 0, not_found: 0, error: 0, servedBytes: 0 }
  readonly upstreamRequests: Counter<'remote' | 'status'>
  readonly upstreamBytes: Counter<'remote'>
  readonly coalesced: Counter
  readonly remoteUp: Gauge<'remote'>
  readonly publishDuration: Histogram
  readonly cacheEvictions: Counter<'distribution'>
  readonly cacheEvictedBytes: Counter<'distribution'>

  constructor (sources: ScrapeSources) {
    const registers = [this.registry]
    const content = this.content
    new Counter({
      name: 'pulp_content_requests_total',
      help: 'Content requests answered, by how: static tree, pull-through hit/miss/revalidated/stale, not found, error',
      labelNames: ['result'],
      registers,
      collect () {
        this.reset()
        for (const result of CONTENT_RESULTS) this.inc({ result }, content[result])
      }
    })
    new Counter({
      name: 'pulp_served_bytes_total',
      help: 'Body bytes the content path sent',
      registers,
      collect () {
        this.reset()
        this.inc(content.servedBytes)
      }
    })
    this.upstreamRequests = new Counter({
      name: 'pulp_upstream_requests_total',
      help: 'Requests sent to remotes, by remote and status (or "error" when no status came back)',
      labelNames: ['remote', 'status'],
      registers
    })
    this.upstreamBytes = new Counter({
      name: 'pulp_upstream_bytes_total',
      help: 'Body bytes received from remotes',
      labelNames: ['remote'],
      registers
    })
    this.coalesced = new Counter({
      name: 'pulp_coalesced_requests_total',
      help: 'Pull-through requests that joined a download already under way instead of starting one',
      registers
    })
    this.remoteUp = new Gauge({
      name: 'pulp_remote_up',
      help: '1 when the last request to the remote got an answer below 500, 0 when it failed',
      labelNames: ['remote'],
      registers
    })
    new Gauge({
      name: 'pulp_tasks',
      help: 'Tasks in the database, by state (every instance on the database)',
      labelNames: ['state'],
      registers,
      async collect () {
        const counts = await sources.tasks()
        this.reset()
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n)
      }
    })
    this.publishDuration = new Histogram({
      name: 'pulp_publish_duration_seconds',
      help: 'Time from a publish task starting to its end being recorded, on this instance',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers
    })
    this.cacheEvictions = new Counter({
      name: 'pulp_cache_evictions_total',
      help: 'Pulled files whose bytes a distribution\'s cache_max_bytes evicted (their paths are pulled again when asked)',
      labelNames: ['distribution'],
      registers
    })
    this.cacheEvictedBytes = new Counter({
      name: 'pulp_cache_evicted_bytes_total',
      help: 'Bytes freed by evictions of a distribution\'s cache_max_bytes',
      labelNames: ['distribution'],
      registers
    })
    new Gauge({
      name: 'pulp_storage_bytes',
      help: 'Bytes on disk: artifacts (recorded sizes), tmp (files being written)',
      labelNames: ['kind'],
      registers,
      async collect () {
        const bytes = await sources.storage()
        this.reset()
        for (const [kind, n] of Object.entries(bytes)) this.set({ kind }, n)
      }
    })
  }

  /** One request to `remote` answered `status` (a number) or failed without one (`'error'`). */
  upstream (remote: string, status: number | 'error'): void {
    this.upstreamRequests.inc({ remote, status: String(status) })
    this.remoteUp.set({ remote }, status !== 'error' && status < 500 ? 1 : 0)
  }
}
