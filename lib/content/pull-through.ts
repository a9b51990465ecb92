import type { Stats } from 'node:fs'
import type { Request, Response } from 'express'
import createDebug from 'debug'
import type { PulpContext } from '../core/context'
import { instantiateRemote } from '../core/remotes'
import { ClosedError, httpStatusOf, LoopDetectedError, NotFoundError, UpstreamError } from '../errors'
import type { ContentTypeClass } from '../plugins/content'
import type { PluginRegistry } from '../plugins/registry'
import type { RemoteArtifact } from '../storage/remote-artifacts'
import type { StoredRemote } from '../storage/remotes'
import { isWithin, openedWithin } from './containment'
import { realpath, stat } from './fast-fs'
import type { RequestPath } from './paths'
import { FileChangedError, sendFile } from './send-file'
import { Download, headOf, SavedElsewhereError, type Attachment } from './pull-through-download'
import { missHeaders, sendError, sendFromDownload } from './pull-through-follow'
import { PullThroughIndex, type Route } from './pull-through-index'
import { NegativeCache } from './pull-through-negative-cache'
import { saveDownload } from './pull-through-save'
import { SharedDownloads, type SharedDownload } from './pull-through-shared'
import { UpstreamClients } from './pull-through-upstream'

const debug = createDebug('pulp:content:pull-through')
const NS = 'pulp:content:pull-through'

const HIT = Object.freeze({ 'x-pulp-cache': 'HIT' })

/**
 * The pull-through cache of one middleware instance: what the static tree does not have, under
 * a distribution with a remote, is served from what the remote sent before (HIT) or fetched
 * once, streamed to every client asking meanwhile, and saved (MISS).
 */
export class PullThrough {
  readonly #ctx: PulpContext
  readonly #registry: PluginRegistry
  readonly #clients: UpstreamClients
  readonly #negative = new NegativeCache()
  readonly #index: PullThroughIndex
  /** One fetch per path across every instance on this database and volume. */
  readonly #shared: SharedDownloads
  /** Downloads under way, by remote (and its version) and path: one upstream fetch per miss. */
  readonly #inflight = new Map<string, Download>()
  readonly #finishing = new Set<Promise<void>>()
  /**
   * The stat of each remembered artifact: an artifact never changes once stored, so a warm HIT
   * needs no syscall before its open (a vanished file fails that open, and is pulled again).
   * `inside`: a descriptor with this device and inode was seen inside `artifacts/`; until then
   * the next open checks where it landed (sendFile holds every open to the stat's file).
   */
  readonly #stats = new WeakMap<RemoteArtifact, { stat: Stats, inside: boolean }>()
  /** The real path of `artifacts/`, learnt at the first HIT. */
  #artifactsRoot: string | undefined
  readonly #onRemoteChanged: (name: string) => void
  readonly #onDistributionChanged: () => void
  #closed = false

  constructor (ctx: PulpContext, registry: PluginRegistry) {
    this.#ctx = ctx
    this.#registry = registry
    this.#clients = new UpstreamClients(ctx.instanceId, { metrics: ctx.metrics, log: ctx.log.part(`${NS}:upstream`) })
    this.#index = new PullThroughIndex(ctx.knex, { ttlMs: 1000 })
    this.#shared = new SharedDownloads(ctx)
    this.#onRemoteChanged = (name) => {
      this.#index.invalidate(name)
      this.#negative.forgetRemote(name)
      this.#clients.drop(name)
    }
    this.#onDistributionChanged = () => this.#index.invalidate()
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
      let route = await this.#index.route(segments)
      if (route === undefined) return false
      // A directory page upstream (a PEP 503 project page is `simple/<name>/`) is asked for
      // with its slash; #start never saves it, as no publication can hold a file named `x/`.
      if (parsed.trailingSlash) route = { ...route, relativePath: `${route.relativePath}/` }
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

  /** Aborts running downloads, waits for their bookkeeping, then closes every dispatcher. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#ctx.events.off('remote-changed', this.#onRemoteChanged)
    this.#ctx.events.off('distribution-changed', this.#onDistributionChanged)
    for (const download of this.#inflight.values()) download.abort(new ClosedError())
    await Promise.all([...this.#finishing])
    await this.#shared.close()
    await this.#clients.close()
  }

  /** `again`: the download this request waited on was saved by another instance; serve the HIT. */
  async #serve (req: Request, res: Response, route: Route, name: string, again = false): Promise<void> {
    const { remote, relativePath } = route
    const via = typeof req.headers.via === 'string' ? req.headers.via : undefined
    if (via?.includes(this.#clients.viaToken) === true) {
      throw new LoopDetectedError(`proxy loop: the request for "${relativePath}" already went through this instance (remote "${remote.name}")`)
    }
    if (again) {
      // The download this request followed found the path saved by another instance: serve
      // that copy, from the record. Joining a download here instead could end the same way
      // with nothing left to try: every request retrying at once joined the one the first of
      // them started on a guess, which then found the path saved too.
      const hit = await this.#index.artifact(remote, relativePath)
      if (hit !== undefined && await this.#sendHit(req, res, remote, hit, name)) return
      throw new UpstreamError(`"${relativePath}" of remote "${remote.name}" was saved elsewhere but cannot be read here`)
    }
    const key = `${remote.name}\0${remote.updated}\0${relativePath}`
    let download = this.#joinable(key)
    if (download !== undefined) this.#ctx.metrics?.coalesced.inc()
    /** Keeps a download started on a guess readable until this request follows it. */
    let held: Attachment | undefined
    try {
      if (download === undefined) {
        const known = this.#index.remembered(remote, relativePath)
        if (known !== undefined) {
          if (await this.#sendHit(req, res, remote, known, name)) return
        } else if (req.method === 'GET' && !this.#closed && !this.#negative.has(remote.name, relativePath)) {
          // Not remembered here: the database is asked while the download claims the path. The
          // claim sees a path saved meanwhile too (and then fetches nothing), so a MISS reaches
          // the upstream one query sooner, and a HIT found this way is served as usual.
          download = this.#start(key, route, req, via)
          held = download.attach(0)
          const hit = await this.#index.artifact(remote, relativePath)
          if (hit !== undefined) {
            held.release()
            // Saved after all: the guess is dropped unless a client already follows it.
            if (download.abandon(new SavedElsewhereError(`"${relativePath}" of remote "${remote.name}" is saved`))) {
              if (this.#inflight.get(key) === download) this.#inflight.delete(key)
              download = undefined
            }
            if (await this.#sendHit(req, res, remote, hit, name)) return
          }
        } else {
          const hit = await this.#index.artifact(remote, relativePath)
          if (hit !== undefined && await this.#sendHit(req, res, remote, hit, name)) return
        }
        // Another request may have started it while we looked.
        download ??= this.#joinable(key)
      }
      const follow = { cacheControl: this.#ctx.options.cacheControl, name }
      if (download === undefined) {
        if (this.#negative.has(remote.name, relativePath)) {
          const counts = this.#ctx.metrics?.content
          if (counts !== undefined) counts.not_found++
          return sendError(res, new NotFoundError(`remote "${remote.name}" has no "${relativePath}" (remembered)`), { 'x-pulp-cache': 'HIT' })
        }
        if (this.#closed) throw new ClosedError()
        if (req.method === 'HEAD') {
          const url = instantiateRemote(this.#registry, remote).getRemoteArtifactUrl(relativePath, req)
          return await this.#head(res, remote, url, relativePath, via, follow)
        }
        download = this.#start(key, route, req, via)
      }
      const counts = this.#ctx.metrics?.content
      if (counts !== undefined) counts.miss++
      // sendFromDownload follows the download before its first await: the hold can go.
      const sending = sendFromDownload(req, res, download, follow, counts)
      held?.release()
      if (await sending) return
    } finally {
      held?.release()
    }
    await this.#serve(req, res, route, name, true)
  }

  /** The download under way for `key`; one that failed is on its way out (its error went to its clients). */
  #joinable (key: string): Download | undefined {
    const download = this.#inflight.get(key)
    return download?.state === 'failed' ? undefined : download
  }

  /**
   * Serves a path pulled before from the store; false when its artifact file has gone. A file
   * that is not the one remembered (or not a regular file inside `artifacts/`) is looked at
   * afresh once, then answers 404: a link swapped in for an artifact is never followed out.
   */
  async #sendHit (req: Request, res: Response, remote: StoredRemote, hit: RemoteArtifact, name: string, again = false): Promise<boolean> {
    const file = this.#ctx.artifacts.pathOf(hit.sha256)
    let known = this.#stats.get(hit)
    try {
      if (known === undefined) {
        known = { stat: await stat(file), inside: false }
        this.#stats.set(hit, known)
      }
      const root = this.#artifactsRoot ?? await this.#learnArtifactsRoot()
      const checking = known
      const accept = checking.inside
        ? undefined
        : (fd: number): boolean => {
            checking.inside = openedWithin(fd, (real) => isWithin(real, root))
            return checking.inside
          }
      const headers = hit.contentEncoding === null ? HIT : { ...HIT, 'content-encoding': hit.contentEncoding }
      const sent = await sendFile(req, res, { path: file, stat: known.stat, etag: `"${hit.sha256}"`, contentType: hit.contentType ?? undefined, name, headers, accept },
        { cacheControl: this.#ctx.options.cacheControl })
      const counts = this.#ctx.metrics?.content
      if (counts !== undefined) {
        counts.hit++
        counts.servedBytes += sent
      }
      return true
    } catch (err: unknown) {
      if (res.headersSent) throw err
      const code = (err as NodeJS.ErrnoException).code
      if (err instanceof FileChangedError || code === 'ELOOP') {
        this.#stats.delete(hit)
        if (!again && known?.inside === true) return await this.#sendHit(req, res, remote, hit, name, true)
        debug('%s: the artifact of %s is not the file stored: %s', remote.name, hit.relativePath, (err as Error).message)
        throw new NotFoundError(`the artifact of "${hit.relativePath}" (remote "${remote.name}") cannot be served`)
      }
      if (code !== 'ENOENT') throw err
      debug('%s: the artifact of %s is gone; pulling it again', remote.name, hit.relativePath)
      this.#index.forgetArtifact(remote, hit.relativePath)
      this.#stats.delete(hit)
      return false
    }
  }

  async #learnArtifactsRoot (): Promise<string> {
    this.#artifactsRoot = await realpath(this.#ctx.artifacts.root)
    return this.#artifactsRoot
  }

  /** HEAD of an uncached path: the upstream's headers, nothing downloaded or saved. */
  async #head (res: Response, remote: StoredRemote, url: string, relativePath: string, via: string | undefined,
    follow: { cacheControl: string | false, name: string }): Promise<void> {
    const signal = remote.totalTimeout === null ? undefined : AbortSignal.timeout(remote.totalTimeout * 1000)
    try {
      const up = await this.#clients.request({ remote, url, method: 'HEAD', via, relativePath, signal })
      up.body.resume()
      res.writeHead(200, missHeaders(headOf(up.headers), follow))
      res.end()
    } catch (err: unknown) {
      if (err instanceof NotFoundError) this.#negative.remember(remote.name, relativePath, remote.negativeCacheTtl)
      sendError(res, err, { 'x-pulp-cache': 'MISS' })
    }
  }

  #start (key: string, route: Route, req: Request, via: string | undefined): Download {
    const { remote, relativePath, distribution } = route
    const instance = instantiateRemote(this.#registry, remote)
    const url = instance.getRemoteArtifactUrl(relativePath, req)
    // Under `streamed` nothing is saved; a content type of null marks metadata that never is,
    // and so is a page whose path ends in "/" (it can never be a content unit).
    const contentType = remote.policy === 'streamed' || relativePath.endsWith('/') ? null : instance.getRemoteArtifactContentType(relativePath)
    // What is saved is fetched once across instances; what is not, once per instance.
    const shared = contentType === null ? undefined : this.#shared.begin(remote, relativePath)
    const download = new Download({
      clients: this.#clients, remote, url, relativePath, via, temp: this.#ctx.artifacts.temp,
      // Bytes nobody will keep are not worth fetching once every client has gone.
      abortWhenUnwatched: contentType === null,
      // No remote type knows a digest in advance yet (`expectedSha256`): a body whose end the
      // upstream does not frame is streamed and never saved.
      origin: shared?.origin
    })
    this.#inflight.set(key, download)
    debug('%s: MISS %s', remote.name, relativePath)
    const finishing = this.#finish(key, download, contentType, distribution.repository, shared)
    this.#finishing.add(finishing)
    void finishing.finally(() => this.#finishing.delete(finishing))
    return download
  }

  /**
   * After the body: remember a 404, or (when this instance fetched it) save what arrived; then
   * let the next request start afresh.
   */
  async #finish (key: string, download: Download, contentType: ContentTypeClass | null, repositoryId: string | null,
    shared: SharedDownload | undefined): Promise<void> {
    await download.settled
    if (download.fromUpstream) this.#ctx.metrics?.upstreamBytes.inc({ remote: download.remote.name }, download.spool.received)
    if (download.state === 'failed') {
      if (download.error instanceof NotFoundError) {
        this.#negative.remember(download.remote.name, download.relativePath, download.remote.negativeCacheTtl)
      }
      // Nobody joins a failure (see #joinable): forget it now, not after the bookkeeping below.
      if (this.#inflight.get(key) === download) this.#inflight.delete(key)
    }
    try {
      if (shared !== undefined && contentType !== null) {
        await shared.finish(download, async (within) => { await saveDownload(this.#ctx, { download, contentType, repositoryId, within }) })
      }
    } catch (err: unknown) {
      this.#ctx.log.part(NS).error({ err, remote: download.remote.name, path: download.relativePath }, 'saving a pulled file failed')
    } finally {
      if (this.#inflight.get(key) === download) this.#inflight.delete(key)
      await download.dispose().catch((err: unknown) => debug('removing %s: %s', download.tmpPath, (err as Error).message))
    }
  }
}

