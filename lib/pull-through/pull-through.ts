import path from 'node:path'
import type { OutgoingHttpHeaders } from 'node:http'
import { schemeOf, type ContentRequest as Request, type ContentResponse as Response } from '../http/request'
import type { Knex } from 'knex'
import createDebug from 'debug'
import type { PulpContext } from '../core/context'
import { instantiateRemote } from '../core/remotes'
import { ClosedError, DigestMismatchError, httpStatusOf, LoopDetectedError, NotFoundError, UpstreamError } from '../errors'
import { Remote, type Freshness, type RemoteTypeClass, type RewriteContext, type UpstreamDigest, type UpstreamTarget } from '../plugins/remote'
import type { PluginRegistry } from '../plugins/registry'
import { findPullEntry, renewPullEntry, type PullEntry } from '../storage/pull-entries'
import { findRemoteArtifact, type RemoteArtifact } from '../storage/remote-artifacts'
import type { StoredRemote } from '../storage/remotes'
import { isWithin, openedWithin } from '../http/containment'
import { realpath, stat } from '../http/fast-fs'
import type { RequestPath } from '../http/paths'
import { FileChangedError, sendFile, type SendFileOptions } from '../http/send-file'
import { KeptBodies, KeptFile } from '../http/kept-bodies'
import { RemoteBindings } from './bindings'
import { CacheEntries } from './cache-entries'
import { Download, headOf, NotModifiedError, SavedElsewhereError, type NotModified } from './download'
import { missHeaders, sendError, sendFromDownload } from './follow'
import { UpstreamHealth } from './health'
import { CACHE_STATUS, copyExpires, decide, digestLabel, matchesDigest, type Copy, type Decision, type Fallback, type Validators } from './path-state'
import { CacheQuota } from './quota'
import { MAX_REWRITTEN_BYTES, rewriteDownload, tooLarge, type Rewritten } from './rewrite'
import { PullThroughIndex, type Route } from './route-index'
import { saveDownload, saveMetadata } from './save'
import { SharedDownloads, type SharedDownload, type SharedRecord } from './shared'
import { allowsStale, UpstreamClients } from './upstream'
import { basePathOf, RequestUpstreamContext, type ContextSource } from './upstream-context'

const debug = createDebug('pulp:pull-through')
const NS = 'pulp:content:pull-through'

/** The longest variant a remote type may give (the cache's column). */
const MAX_VARIANT = 255

/**
 * Artifacts served lately: their stat, whether a descriptor opened for them was seen inside
 * `artifacts/`, and (up to 16 KiB, see KeptFile) their bytes. An artifact never changes, so a
 * warm HIT needs no syscall before its open, or one lstat instead of an open, a read and a
 * close for a small one, as the static tree does for its small files.
 */
const MAX_STATS = 10_000

/** The content counter a copy served from the store adds to, by its X-Pulp-Cache. */
const RESULTS: Record<string, 'hit' | 'revalidated' | 'stale' | 'miss'> = { HIT: 'hit', REVALIDATED: 'revalidated', STALE: 'stale', MISS: 'miss' }

const IMMUTABLE_HIT: OutgoingHttpHeaders = Object.freeze({ 'x-pulp-cache': 'HIT', 'cache-status': CACHE_STATUS.hit() })

/** What the store holds for a path: its immutable artifact, its metadata copy or remembered 404. */
interface Kept { artifact?: RemoteArtifact, entry?: PullEntry }

/** A download under way here, and what the requests following it need to know. */
interface Flight {
  download: Download
  freshness: Freshness
  variant: string
  digest: UpstreamDigest | undefined
  /** Set for a path the remote type rewrites: the saved rewritten copy, which its clients get (never the raw body). */
  rewritten?: Promise<Copy>
  /** A revalidation (conditional request). */
  revalidating: boolean
  /** Set by a 304: the copy every client of the flight gets. */
  renewed?: Copy
  /** Set by a 304: the renewal being recorded (after its clients got the copy); settles without failing. */
  renewing?: Promise<void>
  /** What answers every client of the flight if the upstream fails (a stale copy or 404). */
  fallback?: Fallback
  /** Settles once what arrived is saved (or not): the cache answers for the path from then on. */
  finished?: Promise<void>
}

/** A lease claimed while the lookup runs, with the temp file it names (see #claimEarly). */
interface EarlyClaim {
  shared: SharedDownload
  tmpPath: string
  /** The digest its record checks a saved copy against. */
  digest: UpstreamDigest | undefined
}

/** A metadata copy (200) past its `metadata_ttl`: its next request revalidates it. */
function isExpired (remote: StoredRemote, entry: PullEntry | undefined): boolean {
  return entry !== undefined && entry.status === 200 && Date.now() >= copyExpires(remote, entry)
}

/** Downloads under way are keyed by remote (and its version), variant and path. */
function flightKey (remote: StoredRemote, variant: string, relativePath: string): string {
  return `${remote.name}\0${remote.updated}\0${variant}\0${relativePath}`
}

/**
 * The pull-through cache of one middleware instance. The one owner of a path's state: every
 * request for a path under a distribution with a remote goes through these steps, in `#serve`,
 * with the decision itself in `decide()` (path-state.ts):
 *
 * 1. **Route**: the distribution whose base path holds the path, and its remote; none -> the
 *    next handler.
 * 2. **Loop**: a request already carrying this instance's `Via` -> 508.
 * 3. **Class and target**: the remote type's freshness class of the path (immutable, metadata,
 *    streamed) and, for a type that overrides `getUpstreamTarget`, its upstream URL and the
 *    digest an index gives; no target -> 404, the upstream is not asked.
 * 4. **Join**: a download of the same remote and path under way here -> follow it (step 9).
 * 5. **Look up** what is kept: the immutable artifact, or the metadata copy or remembered 404
 *    (memory first; the database when memory has nothing or believes it expired, since another
 *    instance may have renewed it).
 * 6. **Decide**: HIT (a copy that is fresh and matches the digest), 404 (a fresh negative
 *    entry), or FETCH: conditional for an expired metadata copy, else whole; with the fallback
 *    that may answer if the upstream fails (a copy or a 404 expired less than `stale_if_error`
 *    ago). A HIT whose file has gone (a quota evicted it: quota.ts) becomes a whole FETCH.
 * 7. **Health**: a remote marked down is not asked: the fallback answers (STALE), else 502 at
 *    once naming the remote and its retry time; after the back-off one request probes it.
 * 8. **HEAD** of a path with no copy: the upstream's headers, nothing saved.
 * 9. **Fetch**: one download per path here, one leader across instances (shared leases), the
 *    others follow its temp file. Then, for every request following it:
 *    - 200: the body is streamed as it arrives (MISS), checked against the digest (a mismatch
 *      cuts the connections), then saved: immutable as artifact, unit and repository content;
 *      metadata as artifact and cache entry with the upstream's validators;
 *    - 304: the copy is fresh again here at once and every client gets it (REVALIDATED); the
 *      renewal is recorded for the other instances after, and the next revalidation of the
 *      path here waits for that record (in memory, not by polling its lease);
 *    - 404: 404; the copy is forgotten and a negative entry recorded (shared, kept);
 *    - connection error, timeout, 5xx, 429 with a fallback: the fallback (STALE); else 502/504;
 *    - saved by another instance meanwhile: back to step 5.
 */
export class PullThrough {
  readonly #ctx: PulpContext
  readonly #registry: PluginRegistry
  readonly #clients: UpstreamClients
  readonly #index: PullThroughIndex
  readonly #entries: CacheEntries
  readonly #bindings: RemoteBindings
  readonly #health: UpstreamHealth
  /** Distributions' `cacheMaxBytes`: served times and eviction. */
  readonly quota: CacheQuota
  /** One fetch per path across every instance on this database and volume. */
  readonly #shared: SharedDownloads
  /** Downloads under way, by remote (and its version), variant and path: one upstream fetch per miss. */
  readonly #inflight = new Map<string, Flight>()
  /** Leases claimed for a cold path while its lookup runs, by the key of its download. */
  readonly #early = new Map<string, EarlyClaim>()
  readonly #finishing = new Set<Promise<void>>()
  /** `ensureMetadata` runs under way, by the key of the path they fetch. */
  readonly #ensuring = new Map<string, Promise<void>>()
  /**
   * Each artifact served, by sha256 (see MAX_STATS): until a descriptor with its device and
   * inode was seen inside `artifacts/` (`verified`), the next open checks where it landed
   * (sendFile holds every open to the stat's file).
   */
  readonly #stats = new Map<string, KeptFile>()
  /** The bytes kept in #stats. */
  readonly #kept = new KeptBodies()
  /** Options of every copy sent (one object: sendFile only reads it). */
  readonly #sending: SendFileOptions
  /** What each request's UpstreamContext asks of this cache. */
  readonly #contextSource: ContextSource
  /** The real path of `artifacts/`, learnt at the first HIT. */
  #artifactsRoot: string | undefined
  /** The remote type's instance for each stored remote (rebuilt when the remote changes). */
  /**
   * Each remote's type instance, by name, for the version of its settings it was made from: the
   * route index reads the remotes again every second as new objects, and an instance (its memos,
   * npm's bound on origins) must outlive that, not start afresh each time.
   */
  readonly #instances = new Map<string, { updated: string, instance: Remote }>()
  readonly #onRemoteChanged: (name: string) => void
  readonly #onDistributionChanged: (name: string) => void
  #closed = false

  constructor (ctx: PulpContext, registry: PluginRegistry) {
    this.#ctx = ctx
    this.#registry = registry
    this.#sending = { cacheControl: ctx.options.cacheControl, accel: ctx.accel, whole: ctx.wholeBodies }
    this.#contextSource = {
      cachedMetadata: async (remote, p, variant) => await this.#cachedMetadata(remote, p, variant),
      readBinding: (remote, p) => this.#bindings.read(remote, p),
      ensureMetadata: async (req, route, p) => { await this.#ensureMetadata(req, route, p) },
      contentOrigin: ctx.options.contentOrigin
    }
    this.#health = new UpstreamHealth(ctx.knex)
    this.#clients = new UpstreamClients(ctx.instanceId, {
      metrics: ctx.metrics,
      log: ctx.log.part(`${NS}:upstream`),
      health: (remote, outcome) => this.#health.record(remote, outcome)
    })
    this.#index = new PullThroughIndex(ctx.knex, { ttlMs: 1000 })
    this.#entries = new CacheEntries(ctx.knex, ctx.artifacts)
    this.#bindings = new RemoteBindings(ctx.knex)
    this.#shared = new SharedDownloads(ctx)
    this.#onRemoteChanged = (name) => {
      this.#instances.delete(name)
      this.#index.invalidate(name)
      this.#entries.invalidate(name)
      this.#bindings.invalidate(name)
      this.#health.forget(name)
      this.#clients.drop(name)
    }
    this.quota = new CacheQuota(ctx)
    this.#onDistributionChanged = (name) => {
      this.#index.invalidate()
      // A limit set or lowered applies now.
      this.quota.changed(name)
    }
    ctx.events.on('remote-changed', this.#onRemoteChanged)
    ctx.events.on('distribution-changed', this.#onDistributionChanged)
  }

  /**
   * The content chain's step after the static tree, for a GET or HEAD whose path is parsed:
   * answers (errors included), or resolves `false` for a path no distribution with a remote owns.
   */
  async serve (req: Request, res: Response, parsed: RequestPath): Promise<boolean> {
    const { segments } = parsed
    if (segments.length === 0) return false
    try {
      // A directory page upstream (a PEP 503 project page is `simple/<name>/`) is asked for
      // with its slash; #start never saves it, as no publication can hold a file named `x/`.
      const routing = this.#index.route(segments, parsed.trailingSlash)
      const route = routing instanceof Promise ? await routing : routing
      if (route === undefined) return false
      if (parsed.scopedName !== undefined && !this.#takesScopedName(route, parsed)) return false
      await this.#serve(req, res, route, segments[segments.length - 1])
    } catch (err: unknown) {
      const status = httpStatusOf(err)
      if (status >= 500) this.#ctx.log.part(NS).error({ err, method: req.method, url: req.originalUrl, status }, 'pull-through request failed')
      const counts = this.#ctx.metrics?.content
      if (counts !== undefined) {
        if (status >= 500) counts.error++
        else if (status === 404) counts.not_found++
      }
      sendError(res, err)
    }
    return true
  }

  /** `@scope%2fname` lies below the base path, and the remote's type takes such names. */
  #takesScopedName (route: Route, parsed: RequestPath): boolean {
    const type = this.#instance(route.remote).constructor as Partial<RemoteTypeClass>
    // The route's path has one more (empty) part for a trailing slash.
    const below = parsed.segments.length - route.relativePath.split('/').length + (parsed.trailingSlash ? 1 : 0)
    return (parsed.scopedName as number) >= below && type.acceptsScopedNames?.() === true
  }

  /** Aborts running downloads, waits for their bookkeeping, then closes every dispatcher. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#ctx.events.off('remote-changed', this.#onRemoteChanged)
    this.#ctx.events.off('distribution-changed', this.#onDistributionChanged)
    for (const flight of this.#inflight.values()) flight.download.abort(new ClosedError())
    // Claims made for lookups still running: their leases go before the leases' connection does.
    for (const [key, early] of this.#early) this.#withdrawEarly(key, early)
    await Promise.all([...this.#finishing])
    await this.#health.close()
    await this.quota.close()
    await this.#shared.close()
    await this.#clients.close()
  }

  /** `attempt`: how often this request came back to step 5 (another instance saved the path meanwhile). */
  async #serve (req: Request, res: Response, route: Route, name: string, attempt = 0): Promise<void> {
    const { remote, relativePath } = route
    // 2. Loop.
    const via = viaOf(req)
    if (via?.includes(this.#clients.viaToken) === true) {
      throw new LoopDetectedError(`proxy loop: the request for "${relativePath}" already went through this instance (remote "${remote.name}")`)
    }
    // 3. Class and target.
    const instance = this.#instance(remote)
    const freshness = instance.getFreshness(relativePath)
    let target: UpstreamTarget | null | undefined
    // The default target has no digest: its URL is built only when the upstream is asked (a HIT stays cheap).
    if (instance.getUpstreamTarget !== Remote.prototype.getUpstreamTarget) {
      target = await instance.getUpstreamTarget(relativePath, new RequestUpstreamContext(this.#contextSource, req, route))
      if (target === null) {
        return sendError(res, new NotFoundError(`remote "${remote.name}" has no "${relativePath}" (not known upstream)`),
          { 'x-pulp-cache': 'MISS', 'cache-status': 'pulp-middleware; detail=not-upstream' })
      }
    }
    const digest = target?.digest
    const variant = variantOf(remote, target)
    // The copy served depends on the client's Accept: a shared cache must not answer another Accept with it.
    if (variant !== '') res.setHeader('vary', 'Accept')
    const rewrites = freshness === 'metadata' && typeof instance.rewriteMetadata === 'function'
    // 4. Join. Not on a retry: the download this request followed found the path saved by
    // another instance, so the record is read and its copy served. Joining here instead could
    // end the same way with nothing left to try: every request retrying at once joined the one
    // the first of them started on a guess, which then found the path saved too.
    const key = flightKey(remote, variant, relativePath)
    let flight = attempt === 0 ? this.#joinable(key) : undefined
    if (flight !== undefined) {
      this.#ctx.metrics?.coalesced.inc()
      return await this.#follow(req, res, route, name, flight, attempt, flight.fallback, true)
    }
    // 5. Look up, 6. decide.
    // A warm path is decided from memory without an await (the HIT benches: 2 and 11).
    let kept = attempt === 0 ? this.#remembered(remote, relativePath, freshness, variant, true) : undefined
    // A cold path: the lease is claimed and the remote's health read while the lookup runs.
    const cold = kept === undefined && attempt === 0 && req.method === 'GET'
    // An expired copy known here (no download of it under way): its revalidation's lease is
    // claimed while the request is decided and set up (bench 11).
    const expired = !cold && attempt === 0 && req.method === 'GET' && freshness === 'metadata' && isExpired(remote, kept?.entry) && !this.#inflight.has(key)
    const early = (cold && freshness === 'immutable') || expired ? this.#claimEarly(key, route, freshness, digest, variant, rewrites) : undefined
    let decision: Decision
    try {
      if (kept === undefined) {
        const looking = this.#lookup(remote, relativePath, freshness, variant)
        // After the lookup: on SQLite's one pooled connection it queues behind it, so a HIT waits on no more.
        if (cold) this.#health.prefetch(remote)
        kept = await looking
      }
      decision = decide(remote, { freshness, artifact: kept.artifact, entry: kept.entry, digest, now: Date.now() })
      if (decision.action === 'hit') {
        const { copy, age, ttl } = decision
        const headers = age === undefined
          ? IMMUTABLE_HIT
          : { 'x-pulp-cache': 'HIT', 'cache-status': CACHE_STATUS.hit(ttl), age: String(age) }
        // One Map entry, written in a batch later (the HIT bench line: 2).
        if (freshness === 'immutable' && route.distribution.cacheMaxBytes !== null) this.quota.served(remote.name, relativePath)
        if (await this.#sendCopy(req, res, remote, relativePath, copy, name, headers)) return
        decision = { action: 'fetch' }
      }
      if (decision.action === 'not-found') {
        const counts = this.#ctx.metrics?.content
        if (counts !== undefined) counts.not_found++
        return sendError(res, new NotFoundError(`remote "${remote.name}" has no "${relativePath}" (remembered)`),
          { 'x-pulp-cache': 'HIT', 'cache-status': CACHE_STATUS.notFound(), age: String(decision.age) })
      }
      if (this.#closed) throw new ClosedError()
      // Another request may have started it while we looked.
      flight = this.#joinable(key)
      if (flight === undefined) {
        // The path was revalidated a moment ago and its renewal is being recorded: a copy fresh
        // from now is a HIT then; one that expires at once is revalidated once the lease is free.
        const recording = this.#inflight.get(key)?.renewing
        if (recording !== undefined) {
          await recording
          return await this.#serve(req, res, route, name, attempt)
        }
        // 7. Health.
        const admission = await this.#health.admit(remote)
        if (admission.kind === 'down') return await this.#sendFallback(req, res, route, name, decision.fallback, admission.error, true)
        flight = this.#joinable(key)
        if (flight === undefined) {
          const url = target?.url ?? instance.getRemoteArtifactUrl(relativePath, req)
          // 8. HEAD with no copy (a rewritten index has no headers of its own until it is fetched).
          if (req.method === 'HEAD' && decision.validators === undefined && !rewrites) {
            return await this.#head(req, res, route, { url, variant, accept: target?.accept }, via, name, decision.fallback)
          }
          // 9. Fetch.
          flight = this.#start(key, route, instance, freshness, { url, digest, variant, accept: target?.accept }, via, decision.validators,
            rewrites ? this.#rewriteContext(req, route, url, variant) : undefined)
          flight.fallback = decision.fallback
        }
      }
    } finally {
      // Unless a download took it: the path turned out kept, joined, down or closing.
      if (early !== undefined) this.#withdrawEarly(key, early)
    }
    await this.#follow(req, res, route, name, flight, attempt, decision.fallback, false)
  }

  /**
   * What `UpstreamContext.readCachedMetadata` answers. A copy being fetched is read once it is
   * saved: its client may hold the new body already (an apt client asks for the indexes the
   * moment its Release arrived, before the save commits), and a digest taken from the old
   * copy would refuse the indexes that client needs.
   */
  async #cachedMetadata (remote: StoredRemote, relativePath: string, variant: string): Promise<Buffer | null> {
    await this.#inflight.get(flightKey(remote, variant, relativePath))?.finished
    // A copy this instance remembers as expired may have been replaced by another instance:
    // the database is read then, and body() reads what it found.
    if (this.#remembered(remote, relativePath, 'metadata', variant) === undefined) await this.#entries.load(remote, relativePath, variant)
    return await this.#entries.body(remote, relativePath, variant)
  }

  /**
   * What `UpstreamContext.ensureMetadata` does: steps 3 to 9 of `#serve` for a metadata path
   * that no client of this request is sent: a fresh copy (or remembered 404) is left as it is,
   * a download of it under way is joined, else it is fetched (conditionally when a copy
   * expired) from the target the type gives with `forBindings`, and saved, rewritten and its
   * bindings recorded by `#start` as for any client. Resolves once that is over (the 404 and
   * the renewal are recorded too, so the next request finds them); rejects with the failure
   * when the upstream fails or is down and no expired copy can stand in (its bindings stay).
   */
  async #ensureMetadata (req: Request, route: Route, relativePath: string): Promise<void> {
    const { remote } = route
    const instance = this.#instance(remote)
    if (typeof relativePath !== 'string' || relativePath === '' || relativePath.startsWith('/') || instance.getFreshness(relativePath) !== 'metadata') {
      throw new TypeError(`remote type "${remote.remoteTypeId}" called ensureMetadata(${JSON.stringify(relativePath)}), which is no metadata path of remote "${remote.name}"`)
    }
    const metadata: Route = { ...route, relativePath }
    const target = await instance.getUpstreamTarget(relativePath, new RequestUpstreamContext(this.#contextSource, req, metadata, true))
    if (target === null) return
    const variant = variantOf(remote, target)
    const key = flightKey(remote, variant, relativePath)
    // Concurrent calls for one path share the whole run, lookup to bookkeeping: none of them
    // can look between a 404 and its recording, which would fetch the path again.
    let running = this.#ensuring.get(key)
    if (running === undefined) {
      running = this.#ensure(req, metadata, instance, { ...target, variant }, key)
      this.#ensuring.set(key, running)
      void running.catch(() => {}).finally(() => { if (this.#ensuring.get(key) === running) this.#ensuring.delete(key) })
    } else {
      this.#ctx.metrics?.coalesced.inc()
    }
    await running
  }

  async #ensure (
    req: Request,
    metadata: Route,
    instance: Remote,
    target: UpstreamTarget & { variant: string },
    key: string
  ): Promise<void> {
    const { remote, relativePath } = metadata
    const { variant } = target
    // A renewal being recorded here: what it records is what this decides on.
    await this.#inflight.get(key)?.renewing
    let flight = this.#joinable(key)
    if (flight !== undefined) {
      this.#ctx.metrics?.coalesced.inc()
    } else {
      const kept = this.#remembered(remote, relativePath, 'metadata', variant, true) ?? await this.#lookup(remote, relativePath, 'metadata', variant)
      const decision = decide(remote, { freshness: 'metadata', ...kept, digest: target.digest, now: Date.now() })
      if (decision.action !== 'fetch') return
      if (this.#closed) throw new ClosedError()
      flight = this.#joinable(key)
      if (flight === undefined) {
        const admission = await this.#health.admit(remote)
        if (admission.kind === 'down') {
          if (decision.fallback !== undefined) return
          throw admission.error
        }
        flight = this.#joinable(key)
        if (flight === undefined) {
          const rewrites = typeof instance.rewriteMetadata === 'function'
          debug('%s: %s asked for the bindings of its index', remote.name, relativePath)
          flight = this.#start(key, metadata, instance, 'metadata', target, viaOf(req), decision.validators,
            rewrites ? this.#rewriteContext(req, metadata, target.url, variant) : undefined)
          flight.fallback = decision.fallback
        }
      }
    }
    let failure: unknown
    // A reader until the head: a download following another instance's has no reason to go on without one.
    const held = flight.download.attach()
    try {
      await flight.download.headReady
      held.release()
      if (flight.rewritten !== undefined) {
        capRewritten(flight.download, metadata)
        await flight.rewritten
      }
    } catch (err: unknown) {
      failure = err
    } finally {
      held.release()
    }
    await flight.finished
    if (failure === undefined || failure instanceof NotModifiedError || failure instanceof SavedElsewhereError) return
    if (failure instanceof NotFoundError) return
    if (flight.fallback !== undefined && allowsStale(failure)) return
    throw failure
  }

  #rewriteContext (req: Request, route: Route, url: string, variant: string): Omit<RewriteContext, 'contentType'> {
    return { variant, url, basePath: basePathOf(req, route), origin: this.#ctx.options.contentOrigin ?? `${schemeOf(req)}://${req.headers.host ?? 'localhost'}` }
  }

  #instance (remote: StoredRemote): Remote {
    const known = this.#instances.get(remote.name)
    if (known !== undefined && known.updated === remote.updated) return known.instance
    const instance = instantiateRemote(this.#registry, remote)
    this.#instances.set(remote.name, { updated: remote.updated, instance })
    return instance
  }

  /**
   * Before the lookup of an immutable path not remembered here, or the revalidation of an expired
   * copy: the lease is claimed beside the lookup, or while the request is decided, instead of
   * after (bench 3, time to first byte; bench 11). The claim is the download's if one starts;
   * else it is let go (one write and one delete, for a path first served from the database, or
   * whose remote turned out down).
   */
  #claimEarly (
    key: string, route: Route, freshness: Freshness, digest: UpstreamDigest | undefined, variant: string, rewrites: boolean
  ): EarlyClaim | undefined {
    const { remote, relativePath } = route
    if (freshness === 'streamed' || this.#closed || this.#early.has(key)) return undefined
    const tmpPath = this.#ctx.artifacts.temp.create('pull')
    const shared = this.#shared.begin(remote, relativePath, this.#record(remote, relativePath, freshness, digest, variant, rewrites))
    shared.claimEarly(path.basename(tmpPath))
    const early = { shared, tmpPath, digest }
    this.#early.set(key, early)
    return early
  }

  /** The early claim of `key` for a download that needs it (same digest), taken out of the map. */
  #takeEarly (key: string, digest: UpstreamDigest | undefined): EarlyClaim | undefined {
    const early = this.#early.get(key)
    if (early === undefined || early.digest?.algorithm !== digest?.algorithm || early.digest?.hex !== digest?.hex) return undefined
    this.#early.delete(key)
    return early
  }

  /** Lets go of an early claim no download took. */
  #withdrawEarly (key: string, early: EarlyClaim): void {
    if (this.#early.get(key) !== early) return
    this.#early.delete(key)
    const done = early.shared.withdraw()
      .catch((err: unknown) => debug('letting go of an early claim on %s: %s', key.split('\0').at(-1), (err as Error).message))
      .finally(async () => { await this.#ctx.artifacts.temp.release(early.tmpPath).catch(() => {}) })
    this.#finishing.add(done)
    void done.finally(() => this.#finishing.delete(done))
  }

  /** The download under way for `key`; one that failed (or was answered 304) is on its way out. */
  #joinable (key: string): Flight | undefined {
    const flight = this.#inflight.get(key)
    return flight?.download.state === 'failed' ? undefined : flight
  }

  /**
   * Step 5 from memory: an immutable artifact, or an entry still fresh; undefined: ask the
   * database. `expired`: a metadata copy is answered even once expired, for a revalidation
   * whose lease claim reads whether another instance renewed it meanwhile (see #record).
   */
  #remembered (remote: StoredRemote, relativePath: string, freshness: Freshness, variant: string, expired = false): Kept | undefined {
    if (freshness === 'immutable') {
      const artifact = this.#index.remembered(remote, relativePath)
      if (artifact !== undefined) return { artifact }
    }
    const entry = this.#entries.remembered(remote, relativePath, variant)
    if (entry === undefined) return undefined
    const ttl = entry.status === 404 ? remote.negativeCacheTtl ?? 0 : remote.metadataTtl
    if (expired && freshness === 'metadata' && entry.status === 200) return { entry }
    // An entry this instance believes expired may have been renewed by another one.
    return Date.now() < entry.fetched + ttl * 1000 ? { entry } : undefined
  }

  /** Step 5 from the database, which every instance shares. */
  async #lookup (remote: StoredRemote, relativePath: string, freshness: Freshness, variant: string): Promise<Kept> {
    if (freshness !== 'immutable') return { entry: await this.#entries.load(remote, relativePath, variant) }
    const [artifact, entry] = await Promise.all([
      this.#index.artifact(remote, relativePath),
      this.#entries.load(remote, relativePath, variant)
    ])
    return { artifact, entry }
  }

  /**
   * Serves a copy from the store; false when its artifact file has gone (then it is fetched
   * again). A file that is not the one remembered (or not a regular file inside `artifacts/`)
   * is looked at afresh once, then answers 404: a link swapped in for an artifact is never
   * followed out.
   */
  async #sendCopy (req: Request, res: Response, remote: StoredRemote, relativePath: string, copy: Copy, name: string,
    headers: OutgoingHttpHeaders, again = false): Promise<boolean> {
    let known = this.#stats.get(copy.sha256)
    try {
      if (known === undefined) {
        const file = this.#ctx.artifacts.pathOf(copy.sha256)
        known = new KeptFile(file, await stat(file), this.#kept)
        if (this.#stats.size >= MAX_STATS) this.#dropStat(this.#stats.keys().next().value as string)
        this.#stats.set(copy.sha256, known)
      }
      const root = this.#artifactsRoot ?? await this.#learnArtifactsRoot()
      const checking = known
      const accept = checking.verified
        ? undefined
        : (fd: number): boolean => {
            checking.verified = openedWithin(fd, (real) => isWithin(real, root))
            return checking.verified
          }
      const all = copy.contentEncoding === null ? headers : { ...headers, 'content-encoding': copy.contentEncoding }
      const target = {
        path: known.path, stat: known.stat, etag: `"${copy.sha256}"`, contentType: copy.contentType ?? undefined, name, headers: all, accept, memo: known.memo()
      }
      const sent = await sendFile(req, res, target, this.#sending)
      const counts = this.#ctx.metrics?.content
      if (counts !== undefined) {
        const result = RESULTS[String(all['x-pulp-cache'])] ?? 'hit'
        counts[result]++
        counts.servedBytes += sent
      }
      return true
    } catch (err: unknown) {
      if (res.headersSent) throw err
      const code = (err as NodeJS.ErrnoException).code
      if (err instanceof FileChangedError || code === 'ELOOP') {
        this.#dropStat(copy.sha256)
        if (!again && known?.verified === true) return await this.#sendCopy(req, res, remote, relativePath, copy, name, headers, true)
        debug('%s: the artifact of %s is not the file stored: %s', remote.name, relativePath, (err as Error).message)
        throw new NotFoundError(`the artifact of "${relativePath}" (remote "${remote.name}") cannot be served`)
      }
      if (code !== 'ENOENT') throw err
      debug('%s: the artifact of %s is gone; pulling it again', remote.name, relativePath)
      this.#index.forgetArtifact(remote, relativePath)
      this.#dropStat(copy.sha256)
      return false
    }
  }

  #dropStat (sha256: string): void {
    this.#stats.get(sha256)?.drop()
    this.#stats.delete(sha256)
  }

  async #learnArtifactsRoot (): Promise<string> {
    this.#artifactsRoot = await realpath(this.#ctx.artifacts.root)
    return this.#artifactsRoot
  }

  /** What answers when the upstream failed or is down: a stale copy, a stale 404, or the error. */
  async #sendFallback (
    req: Request,
    res: Response,
    route: Route,
    name: string,
    fallback: Fallback | undefined,
    err: unknown,
    down: boolean
  ): Promise<void> {
    const { remote, relativePath } = route
    const status = err instanceof UpstreamError ? err.upstreamStatus : undefined
    if (fallback !== undefined) {
      const age = String(Math.max(0, Math.floor((Date.now() - fallback.fetched) / 1000)))
      const headers = { 'x-pulp-cache': 'STALE', 'cache-status': down ? CACHE_STATUS.staleWhileDown() : CACHE_STATUS.staleOnError(status), age }
      debug('%s: %s served stale: %s', remote.name, relativePath, (err as Error).message)
      if (fallback.kind === 'not-found') {
        return sendError(res, new NotFoundError(`remote "${remote.name}" has no "${relativePath}" (remembered; the upstream is failing)`), headers)
      }
      if (await this.#sendCopy(req, res, remote, relativePath, fallback.copy, name, headers)) return
    }
    sendError(res, err, { 'x-pulp-cache': 'MISS', 'cache-status': down ? CACHE_STATUS.down() : CACHE_STATUS.failed(status ?? httpStatusOf(err)) })
  }

  /** Step 9 for one request: waits for the upstream's answer, then streams, or serves what the answer says. */
  async #follow (req: Request, res: Response, route: Route, name: string, flight: Flight, attempt: number,
    fallback: Fallback | undefined, collapsed: boolean): Promise<void> {
    const { download } = flight
    // Keeps the download readable (and wanted) until sendFromDownload follows it.
    const held = download.attach()
    try {
      try {
        await download.headReady
      } catch (err: unknown) {
        held.release()
        if (err instanceof NotModifiedError && flight.renewed !== undefined) {
          const age = String(Math.max(0, Math.floor((Date.now() - (flight.renewed.fetched ?? Date.now())) / 1000)))
          const headers = { 'x-pulp-cache': 'REVALIDATED', 'cache-status': CACHE_STATUS.revalidated(304, collapsed), age }
          if (await this.#sendCopy(req, res, route.remote, route.relativePath, flight.renewed, name, headers)) return
        }
        if (err instanceof SavedElsewhereError || err instanceof NotModifiedError) {
          if (attempt >= 2) throw new UpstreamError(`"${route.relativePath}" of remote "${route.remote.name}" was saved elsewhere but cannot be read here`)
          return await this.#serve(req, res, route, name, attempt + 1)
        }
        if (fallback !== undefined && allowsStale(err)) return await this.#sendFallback(req, res, route, name, fallback, err, false)
        // It went upstream: a miss, whatever the upstream answered (a stale copy counts as stale).
        const counts = this.#ctx.metrics?.content
        if (counts !== undefined) counts.miss++
        return await this.#sendFallback(req, res, route, name, undefined, err, false)
      }
      if (flight.rewritten !== undefined) return await this.#sendRewritten(req, res, route, name, flight, fallback, collapsed, held)
      const stored = flight.freshness !== 'streamed'
      const counts = this.#ctx.metrics?.content
      if (counts !== undefined) counts.miss++
      const sending = sendFromDownload(req, res, download, {
        cacheControl: this.#ctx.options.cacheControl,
        name,
        hideLength: flight.digest !== undefined,
        headers: {
          'x-pulp-cache': 'MISS',
          'cache-status': flight.revalidating ? CACHE_STATUS.revalidated(200, collapsed) : CACHE_STATUS.miss(stored, collapsed)
        }
      }, counts)
      held.release()
      if (await sending) return
    } finally {
      held.release()
    }
    // Saved elsewhere after all (sendFromDownload sent nothing).
    if (attempt >= 2) throw new UpstreamError(`"${route.relativePath}" of remote "${route.remote.name}" was saved elsewhere but cannot be read here`)
    await this.#serve(req, res, route, name, attempt + 1)
  }

  /**
   * Step 9 for a client of an index the remote type rewrites: it gets the rewritten copy once
   * saved, never the upstream's bytes (a body too large to rewrite is cut short at its head).
   */
  async #sendRewritten (req: Request, res: Response, route: Route, name: string, flight: Flight, fallback: Fallback | undefined,
    collapsed: boolean, held: { release: () => void }): Promise<void> {
    const { download } = flight
    capRewritten(download, route)
    held.release()
    let copy: Copy
    try {
      copy = await (flight.rewritten as Promise<Copy>)
    } catch (err: unknown) {
      if (err instanceof SavedElsewhereError) return await this.#serve(req, res, route, name, 1)
      return await this.#sendFallback(req, res, route, name, allowsStale(err) ? fallback : undefined, err, false)
    }
    const headers = {
      'x-pulp-cache': 'MISS',
      'cache-status': flight.revalidating ? CACHE_STATUS.revalidated(200, collapsed) : CACHE_STATUS.miss(true, collapsed)
    }
    if (await this.#sendCopy(req, res, route.remote, route.relativePath, copy, name, headers)) return
    throw new UpstreamError(`the rewritten copy of "${route.relativePath}" (remote "${route.remote.name}") went before it was served`)
  }

  /** HEAD of a path with no copy: the upstream's headers, nothing downloaded or saved. */
  async #head (
    req: Request,
    res: Response,
    route: Route,
    target: { url: string, variant: string, accept: string | undefined },
    via: string | undefined,
    name: string,
    fallback: Fallback | undefined
  ): Promise<void> {
    const { remote, relativePath } = route
    const { url, variant, accept } = target
    const signal = remote.totalTimeout === null ? undefined : AbortSignal.timeout(remote.totalTimeout * 1000)
    try {
      const up = await this.#clients.request({ remote, url, method: 'HEAD', via, relativePath, signal, accept })
      up.body.resume()
      res.writeHead(200, missHeaders(headOf(up.headers), {
        cacheControl: this.#ctx.options.cacheControl, name, headers: { 'cache-status': CACHE_STATUS.miss(false, false) }
      }))
      res.end()
    } catch (err: unknown) {
      if (err instanceof NotFoundError) await this.#entries.rememberMissing(remote, relativePath, variant)
      await this.#sendFallback(req, res, route, name, allowsStale(err) ? fallback : undefined, err, false)
    }
  }

  #start (
    key: string,
    route: Route,
    instance: Remote,
    freshness: Freshness,
    target: UpstreamTarget & { variant: string },
    via: string | undefined,
    validators: Validators | undefined,
    rewrite: Omit<RewriteContext, 'contentType'> | undefined
  ): Flight {
    const { remote, relativePath, distribution } = route
    const { digest, variant } = target
    // What is saved is fetched once across instances; what is not, once per instance.
    const early = freshness === 'streamed' ? undefined : this.#takeEarly(key, digest)
    const shared = freshness === 'streamed'
      ? undefined
      : early?.shared ??
        this.#shared.begin(remote, relativePath, this.#record(remote, relativePath, freshness, digest, variant, rewrite !== undefined))
    const flight: Flight = {
      download: undefined as unknown as Download, freshness, variant, digest, revalidating: validators !== undefined
    }
    let rewritten: { resolve: (copy: Copy) => void, reject: (err: unknown) => void } | undefined
    if (rewrite !== undefined) {
      flight.rewritten = new Promise<Copy>((resolve, reject) => { rewritten = { resolve, reject } })
      flight.rewritten.catch(() => {})
    }
    const fetched = Date.now()
    flight.download = new Download({
      clients: this.#clients,
      remote,
      url: target.url,
      relativePath,
      via,
      temp: this.#ctx.artifacts.temp,
      tmpPath: early?.tmpPath,
      // Bytes nobody will keep are not worth fetching once every client has gone.
      abortWhenUnwatched: freshness === 'streamed',
      origin: shared?.origin,
      // Also what lets a body whose end the upstream does not frame be saved (CONTRACT 13):
      // without a digest such a body is streamed and never saved.
      digest,
      accept: target.accept,
      onFailure: async (error) => {
        if (error instanceof NotFoundError) await this.#entries.rememberMissing(remote, relativePath, variant)
      },
      conditional: validators === undefined
        ? undefined
        : {
          ...validators,
          onNotModified: async (fresh) => { flight.renewed = await this.#renew(flight, remote, relativePath, fresh, shared) }
        }
    })
    this.#inflight.set(key, flight)
    debug('%s: %s %s', remote.name, validators === undefined ? 'MISS' : 'REVALIDATE', relativePath)
    const contentType = freshness === 'immutable' ? instance.getRemoteArtifactContentType(relativePath) : null
    const saveImmutable = contentType === null
      ? undefined
      : async (within: (trx: Knex) => Promise<void>) => {
        await saveDownload(this.#ctx, {
          download: flight.download, contentType, repositoryId: distribution.repository, within, digest: digestLabel(digest)
        })
        this.quota.saved(distribution)
      }
    const finishing = rewrite === undefined || rewritten === undefined
      ? this.#finish(key, flight, route, shared, fetched, saveImmutable)
      : this.#finishRewritten(key, flight, route, instance, shared, fetched, rewrite, rewritten)
    flight.finished = finishing
    this.#finishing.add(finishing)
    void finishing.finally(() => this.#finishing.delete(finishing))
    return flight
  }

  /**
   * How instances following this path's leader know it is done: immutable paths without a
   * digest use the remote artifact its claim finds; the others check the digest or the entry.
   */
  #record (remote: StoredRemote, relativePath: string, freshness: Freshness, digest: UpstreamDigest | undefined, variant: string,
    rewrites: boolean): SharedRecord | undefined {
    const { knex } = this.#ctx
    if (freshness === 'immutable') {
      if (digest === undefined) return undefined
      return {
        variant,
        isSaved: async (sha256) => {
          if (sha256 === null) return false
          const found = await findRemoteArtifact(knex, remote.name, relativePath)
          return found !== undefined && matchesDigest(found.sha256, found.digest, digest) && await this.#ctx.artifacts.exists(found.sha256)
        },
        saved: async () => await findRemoteArtifact(knex, remote.name, relativePath)
      }
    }
    return {
      variant,
      followable: !rewrites,
      isSaved: async (_sha256, entryFetched) => {
        const mine = this.#entries.remembered(remote, relativePath, variant)
        // No copy any more: one still remembered here was forgotten by another instance, and its
        // validators must not be sent; answering "saved" sends the request back to step 5,
        // which reads the database (and forgets it here).
        if (entryFetched === null) return mine !== undefined
        // The copy this instance decided on, unless another instance recorded one since.
        const entry = mine !== undefined && new Date(mine.fetched).toISOString() === entryFetched
          ? mine
          : await this.#entries.load(remote, relativePath, variant)
        if (entry === undefined) return false
        const decision = decide(remote, { freshness, entry, digest, now: Date.now() })
        return decision.action !== 'fetch'
      },
      saved: async () => {
        const entry = await findPullEntry(knex, CacheEntries.key(remote, relativePath, variant))
        if (entry?.status !== 200 || entry.sha256 === null || entry.size === null) return undefined
        return { sha256: entry.sha256, size: entry.size }
      }
    }
  }

  /**
   * A 304: the copy is fresh from now. This instance knows at once, and the flight's clients
   * get the copy without waiting for the database; the renewal (then the lease's row goes) is
   * recorded in `flight.renewing` after. Until it is, other instances see the
   * lease held and wait for it; should this process die first, the lease goes and another
   * instance revalidates again: the copy's bytes are the same either way.
   */
  async #renew (
    flight: Flight, remote: StoredRemote, relativePath: string, fresh: NotModified, shared: SharedDownload | undefined
  ): Promise<Copy> {
    const { variant } = flight
    const key = CacheEntries.key(remote, relativePath, variant)
    const before = this.#entries.remembered(remote, relativePath, variant) ?? await this.#entries.load(remote, relativePath, variant)
    if (before === undefined || before.sha256 === null) throw new UpstreamError(`the copy of "${relativePath}" (remote "${remote.name}") went while it was revalidated`)
    const renewed: PullEntry = {
      ...before, fetched: Date.now(), etag: fresh.etag ?? before.etag, lastModified: fresh.lastModified ?? before.lastModified
    }
    this.#entries.keep(remote, renewed)
    let updated = 0
    // Two statements, not a transaction (half the round trips, which the path's next
    // revalidation here waits for): the copy is renewed before the lease's row goes, so whoever
    // finds the row gone finds the copy renewed; should this process die between the two, the
    // row stays until its lease runs out, as for any leader that dies.
    const record = async (within: (trx: Knex) => Promise<void>): Promise<void> => {
      updated = await renewPullEntry(this.#ctx.knex, key, renewed)
      await within(this.#ctx.knex)
    }
    // The lease is this flight's until the record is written: the download's end (a
    // NotModifiedError) must not record it as failed meanwhile.
    const settle = shared?.settleLater()
    flight.renewing = (async () => {
      try {
        // The clients' answers go out first (they follow in this turn of the event loop): the
        // renewal's statements are built and sent once they have.
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (settle === undefined) await record(async () => {})
        else await settle(record)
      } catch (err: unknown) {
        this.#ctx.log.part(NS).error({ err, remote: remote.name, path: relativePath }, 'recording a revalidation failed')
      }
      // The copy went meanwhile (another instance learnt of a 404), or the record failed: the
      // database is read next time.
      if (updated === 0 && this.#entries.remembered(remote, relativePath, variant) === renewed) {
        this.#entries.drop(remote, relativePath, variant)
      }
      debug('%s: %s revalidated', remote.name, relativePath)
    })()
    return { sha256: before.sha256, contentType: before.contentType, contentEncoding: before.contentEncoding, fetched: renewed.fetched }
  }

  /**
   * After the body: remember a 404, or (when this instance fetched it) save what arrived; then
   * let the next request start afresh.
   */
  async #finish (key: string, flight: Flight, route: Route, shared: SharedDownload | undefined, fetched: number,
    saveImmutable: ((within: (trx: Knex) => Promise<void>) => Promise<void>) | undefined): Promise<void> {
    const { download, freshness, variant } = flight
    const { remote, relativePath } = route
    await download.settled
    if (download.fromUpstream) this.#ctx.metrics?.upstreamBytes.inc({ remote: remote.name }, download.spool.received)
    try {
      if (flight.renewing !== undefined) {
        await flight.renewing
      } else if (download.state === 'failed') {
        await this.#failed(key, flight, route)
      } else if (shared !== undefined && freshness === 'metadata') {
        await shared.finish(download, async (within) => {
          const entry = await saveMetadata(this.#ctx, {
            download, key: CacheEntries.key(remote, relativePath, variant), fetched, digest: digestLabel(flight.digest), within
          })
          this.#entries.keep(remote, entry)
        })
      } else if (shared !== undefined && saveImmutable !== undefined) {
        await shared.finish(download, saveImmutable)
      }
    } catch (err: unknown) {
      this.#ctx.log.part(NS).error({ err, remote: remote.name, path: relativePath }, 'saving a pulled file failed')
    } finally {
      if (this.#inflight.get(key) === flight) this.#inflight.delete(key)
      await download.dispose().catch((err: unknown) => debug('removing %s: %s', download.tmpPath, (err as Error).message))
    }
  }

  /**
   * A failed download: nobody joins it any more; a digest mismatch is logged for the remote's
   * operator (a 404 was remembered before its clients heard).
   */
  async #failed (key: string, flight: Flight, route: Route): Promise<void> {
    const { remote, relativePath } = route
    const { download } = flight
    // Nobody joins a failure (see #joinable): forget it now, not after the bookkeeping.
    if (this.#inflight.get(key) === flight) this.#inflight.delete(key)
    if (download.error instanceof DigestMismatchError) {
      this.#ctx.log.part(NS).warn({ remote: remote.name, path: relativePath, err: download.error }, 'pulled bytes do not match the digest of their index: not saved')
    }
  }

  /**
   * #finish for an index the remote type rewrites: the rewritten body is saved in place of the
   * upstream's, with the bindings it gave in the same transaction, then served to every client
   * of the flight (none of which got the upstream's bytes).
   */
  async #finishRewritten (key: string, flight: Flight, route: Route, instance: Remote, shared: SharedDownload | undefined, fetched: number,
    context: Omit<RewriteContext, 'contentType'>, outcome: { resolve: (copy: Copy) => void, reject: (err: unknown) => void }): Promise<void> {
    const { download, variant } = flight
    const { remote, relativePath } = route
    await download.settled
    if (download.fromUpstream) this.#ctx.metrics?.upstreamBytes.inc({ remote: remote.name }, download.spool.received)
    let rewritten: Rewritten | undefined
    try {
      if (download.state === 'failed') {
        // A 304: the flight is left once its renewal is recorded (see #renew).
        const failing = flight.renewing ?? this.#failed(key, flight, route)
        outcome.reject(download.error)
        await failing
        return
      }
      const rewriteContext = { ...context, contentType: download.head?.contentType }
      rewritten = await rewriteDownload(instance, download, rewriteContext, this.#ctx.artifacts.temp)
      const done = rewritten
      const save = async (within: (trx: Knex) => Promise<void>): Promise<void> => {
        const entry = await saveMetadata(this.#ctx, {
          download,
          key: CacheEntries.key(remote, relativePath, variant),
          fetched,
          digest: digestLabel(flight.digest),
          rewritten: done,
          within: async (trx) => {
            await this.#bindings.record(trx, remote, done.bindings)
            await within(trx)
          }
        })
        this.#entries.keep(remote, entry)
        this.#bindings.keep(remote, done.bindings)
      }
      // A body whose end the upstream did not frame is served rewritten, but not saved.
      if (shared === undefined || !download.savable) await this.#ctx.artifacts.adopt(done.tmpPath, done.sha256, done.size)
      else await shared.finish(download, save)
      outcome.resolve({ sha256: done.sha256, contentType: done.contentType, contentEncoding: null, fetched })
    } catch (err: unknown) {
      // Forgotten before its clients hear: the next request fetches afresh, it does not join this failure.
      if (this.#inflight.get(key) === flight) this.#inflight.delete(key)
      outcome.reject(err)
      this.#ctx.log.part(NS).error({ err, remote: remote.name, path: relativePath }, 'rewriting a pulled index failed')
      await shared?.finish(download, async () => { throw err }).catch(() => {})
    } finally {
      if (this.#inflight.get(key) === flight) this.#inflight.delete(key)
      if (rewritten !== undefined) await this.#ctx.artifacts.temp.release(rewritten.tmpPath).catch(() => {})
      await download.dispose().catch((err: unknown) => debug('removing %s: %s', download.tmpPath, (err as Error).message))
    }
  }
}

/** The variant a remote type's target names (`''` for none); a TypeError for one the cache cannot key by. */
function variantOf (remote: StoredRemote, target: UpstreamTarget | null | undefined): string {
  const variant = target?.variant ?? ''
  if (typeof variant !== 'string' || variant.length > MAX_VARIANT) {
    throw new TypeError(`remote type "${remote.remoteTypeId}" gave a variant that is not a string of at most ${MAX_VARIANT} characters`)
  }
  return variant
}

function viaOf (req: Request): string | undefined {
  return typeof req.headers.via === 'string' ? req.headers.via : undefined
}

/** An index announcing more than can be rewritten is cut short at its head, not downloaded whole first. */
function capRewritten (download: Download, route: Route): void {
  const length = download.head?.contentLength
  if (length !== undefined && length > MAX_REWRITTEN_BYTES) download.abort(tooLarge(route.remote.name, route.relativePath, length))
}
