import type { Knex } from 'knex'
import createDebug from 'debug'
import { basePathCandidates, distributionsWithRemotes, type Distribution } from '../storage/distributions'
import { findRemoteArtifact, type RemoteArtifact } from '../storage/remote-artifacts'
import { findRemotes, type StoredRemote } from '../storage/remotes'

const debug = createDebug('pulp:content:pull-through:index')

/** Paths served before, remembered so a warm HIT costs no query. */
const MAX_REMEMBERED = 10_000

/** Where a request path goes: a distribution, its remote, and the path below its base path. */
export interface Route {
  readonly distribution: Distribution
  readonly remote: StoredRemote
  readonly relativePath: string
}

export interface IndexOptions {
  /**
   * How long the distributions read from the database are trusted (ms). Changes made through
   * this instance apply at once; this bounds how late another process's changes are seen.
   */
  ttlMs: number
  now?: () => number
}

/**
 * The content path's view of distributions with remotes, and of what each remote served
 * before: both read once and kept in memory, so the hot path does no query per request.
 */
export class PullThroughIndex {
  readonly #knex: Knex
  readonly #ttlMs: number
  readonly #now: () => number
  #routes = new Map<string, { distribution: Distribution, remote: StoredRemote }>()
  /** Request paths routed since the routes were read, by their segments joined: `null` for none. */
  #paths = new Map<string, Route | null>()
  #loadedAt = Number.NEGATIVE_INFINITY
  #loading: Promise<void> | undefined
  #generation = 0
  readonly #artifacts = new Map<string, RemoteArtifact>()

  constructor (knex: Knex, options: IndexOptions) {
    this.#knex = knex
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? performance.now.bind(performance)
  }

  /**
   * The distribution (with a remote) serving these request segments, longest base path first.
   * `trailingSlash`: a directory page upstream (a PEP 503 project page is `simple/<name>/`),
   * asked for with its slash. Without an await while the distributions read are still trusted
   * (a warm HIT's case).
   */
  route (segments: readonly string[], trailingSlash = false): Route | undefined | Promise<Route | undefined> {
    if (this.#now() - this.#loadedAt > this.#ttlMs) return this.#routeAfterReload(segments, trailingSlash)
    return this.#routeOf(segments, trailingSlash)
  }

  async #routeAfterReload (segments: readonly string[], trailingSlash: boolean): Promise<Route | undefined> {
    // A load that began before the latest local change does not count: read again (bounded).
    for (let i = 0; i < 3 && this.#now() - this.#loadedAt > this.#ttlMs; i++) await this.#reload()
    return this.#routeOf(segments, trailingSlash)
  }

  #routeOf (segments: readonly string[], trailingSlash: boolean): Route | undefined {
    if (this.#routes.size === 0) return undefined
    // The same path again (every warm HIT) is one lookup, not one per prefix.
    const path = trailingSlash ? `${segments.join('/')}/` : segments.join('/')
    const known = this.#paths.get(path)
    if (known !== undefined) return known ?? undefined
    const found = this.#match(segments, trailingSlash)
    if (this.#paths.size >= MAX_REMEMBERED) this.#paths.delete(this.#paths.keys().next().value as string)
    this.#paths.set(path, found ?? null)
    return found
  }

  #match (segments: readonly string[], trailingSlash: boolean): Route | undefined {
    const candidates = basePathCandidates(segments)
    for (let i = candidates.length - 1; i >= 0; i--) {
      const found = this.#routes.get(candidates[i])
      if (found === undefined) continue
      // The base path itself is no file of the remote's.
      if (i + 1 >= segments.length) return undefined
      const relativePath = segments.slice(i + 1).join('/')
      return { ...found, relativePath: trailingSlash ? `${relativePath}/` : relativePath }
    }
    return undefined
  }

  /** What `remote` served at `relativePath` before, if this instance remembers it. */
  remembered (remote: StoredRemote, relativePath: string): RemoteArtifact | undefined {
    return this.#artifacts.get(this.#key(remote, relativePath))
  }

  /** What `remote` served at `relativePath` before, if anything. */
  async artifact (remote: StoredRemote, relativePath: string): Promise<RemoteArtifact | undefined> {
    const key = this.#key(remote, relativePath)
    const known = this.#artifacts.get(key)
    if (known !== undefined) return known
    const found = await findRemoteArtifact(this.#knex, remote.name, relativePath)
    if (found !== undefined) {
      if (this.#artifacts.size >= MAX_REMEMBERED) this.#artifacts.delete(this.#artifacts.keys().next().value as string)
      this.#artifacts.set(key, found)
    }
    return found
  }

  /** Forgets a remembered path (its artifact file has gone). */
  forgetArtifact (remote: StoredRemote, relativePath: string): void {
    this.#artifacts.delete(this.#key(remote, relativePath))
  }

  /** Distributions or remotes changed here: read them again on the next request. */
  invalidate (remoteName?: string): void {
    this.#loadedAt = Number.NEGATIVE_INFINITY
    this.#generation++
    if (remoteName === undefined) return
    const prefix = `${remoteName}\0`
    for (const key of this.#artifacts.keys()) if (key.startsWith(prefix)) this.#artifacts.delete(key)
  }

  #key (remote: StoredRemote, relativePath: string): string {
    // The creation stamp tells a remote deleted and made again under the same name apart.
    return `${remote.name}\0${remote.created}\0${relativePath}`
  }

  async #reload (): Promise<void> {
    this.#loading ??= (async () => {
      const generation = this.#generation
      try {
        const distributions = await distributionsWithRemotes(this.#knex)
        const names = [...new Set(distributions.map((d) => d.remote as string))]
        const remotes = new Map((await findRemotes(this.#knex, names)).map((r) => [r.name, r]))
        const routes = new Map<string, { distribution: Distribution, remote: StoredRemote }>()
        for (const distribution of distributions) {
          const remote = remotes.get(distribution.remote as string)
          if (remote !== undefined) routes.set(distribution.basePath, { distribution, remote })
        }
        this.#routes = routes
        this.#paths = new Map()
        // A change made while we read stays pending: the next request reads again.
        if (generation === this.#generation) this.#loadedAt = this.#now()
        debug('%d distributions with remotes', routes.size)
      } finally {
        this.#loading = undefined
      }
    })()
    await this.#loading
  }
}
