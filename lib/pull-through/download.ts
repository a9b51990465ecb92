import path from 'node:path'
import { createHash } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import createDebug from 'debug'
import type { TempFiles } from '../artifacts/temp-files'
import { DigestMismatchError, ERROR_CODES, localFault, PulpError, UpstreamError, UpstreamTimeoutError } from '../errors'
import type { UpstreamDigest } from '../plugins/remote'
import type { StoredRemote } from '../storage/remotes'
import { upstreamFailure, type UpstreamClients } from './upstream'
import { Spool } from './spool'

const debug = createDebug('pulp:content:pull-through:download')

/** What the upstream said about the body, replayed to every client of the download. */
export interface DownloadHead {
  contentType: string | undefined
  /** From the upstream's Content-Length; undefined for a chunked body. */
  contentLength: number | undefined
  contentEncoding: string | undefined
  lastModified: string | undefined
  /** The upstream's validator, kept with a metadata copy for its next conditional request. */
  etag?: string | undefined
  /**
   * The upstream marked where the body ends (Content-Length or chunked), so a connection lost
   * early is a failure we see. Without it the body ends when the connection closes, and a cut
   * looks exactly like the end: such a body is never saved unless a known digest verifies it.
   */
  framed: boolean
}

/** The validators a 304 came with (either may be new). */
export interface NotModified {
  etag: string | undefined
  lastModified: string | undefined
}

/** A client following the download as it arrives. */
export interface DownloadListener {
  /** `chunk` arrived; its first byte is at `offset`. */
  onData: (chunk: Buffer, offset: number) => void
  /** The download completed or failed (see `state`). */
  onSettled: () => void
}

/** Where a download's bytes come from, decided as it starts. */
export type DownloadOrigin =
  /**
   * This instance asks the upstream; `onHead` hears what it answered, `onFailure` runs before a
   * failure is answered (so whoever asks next, here or elsewhere, tries afresh).
   */
  | { kind: 'upstream', onHead?: (head: DownloadHead) => void, onFailure?: (error: PulpError) => Promise<void> }
  /** Another instance is fetching the path: its file is read as it grows, then checked. */
  | { kind: 'shared', head: DownloadHead, file: FileHandle, body: AsyncIterable<Buffer>, verify: (sha256: string, size: number) => Promise<void> }
  /** Another instance saved the path meanwhile: the clients get the HIT. */
  | { kind: 'saved' }

const UPSTREAM: DownloadOrigin = Object.freeze({ kind: 'upstream' })

/** The path was saved elsewhere before this download sent anything; never shown to a client. */
export class SavedElsewhereError extends PulpError {
  constructor (message: string) { super(message, ERROR_CODES.SAVED_ELSEWHERE, { expose: false }) }
}

/** The upstream answered a conditional request 304: the cached copy is good again; never shown to a client. */
export class NotModifiedError extends PulpError {
  constructor (message: string) { super(message, ERROR_CODES.NOT_MODIFIED, { expose: false }) }
}

export interface DownloadSpec {
  clients: UpstreamClients
  remote: StoredRemote
  url: string
  relativePath: string
  via: string | undefined
  temp: TempFiles
  /** The temp file's path, when taken from `temp` before the download (a claim named it); else a fresh one. */
  tmpPath?: string
  /** Stop fetching once no client reads any more (for bytes that will not be saved). */
  abortWhenUnwatched: boolean
  /** Decides where the bytes come from (given the signal and our temp file's name); default: the upstream. */
  origin?: (signal: AbortSignal, file: string) => Promise<DownloadOrigin>
  /** Validators of a cached copy: ask conditionally, and on a 304 run `onNotModified` before the clients hear. */
  conditional?: { etag: string | null, lastModified: string | null, onNotModified: (validators: NotModified) => Promise<void> }
  /**
   * What the bytes must hash to, when known before they are fetched (an index listed it): a
   * mismatch fails the download, so nothing is saved; a match lets a body whose end the
   * upstream did not frame be saved.
   */
  digest?: UpstreamDigest
  /** The `Accept` sent upstream (the target's variant). */
  accept?: string
  /**
   * Runs when the download failed, before any client hears of it: what it records (a 404 as
   * remembered) is there for whoever asks next, on any instance.
   */
  onFailure?: (error: PulpError) => Promise<void>
}

/** A client reading the download; it lets go when done. */
export interface Attachment {
  release: () => void
}

export type DownloadState = 'starting' | 'streaming' | 'complete' | 'failed'

/** The parts of an upstream's headers a client is told. */
export function headOf (headers: Record<string, string | string[] | undefined>): DownloadHead {
  const one = (name: string): string | undefined => {
    const v = headers[name]
    return Array.isArray(v) ? v.join(', ') : v
  }
  const length = one('content-length')
  const encoding = one('content-encoding')?.trim()
  const contentLength = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
  return {
    contentType: one('content-type'),
    contentLength,
    contentEncoding: encoding === undefined || encoding === '' || encoding.toLowerCase() === 'identity' ? undefined : encoding,
    lastModified: one('last-modified'),
    etag: one('etag'),
    // RFC 9112 6.3: chunked ends with its last chunk, which undici requires before it ends the body.
    framed: contentLength !== undefined || /(^|,)\s*chunked\s*$/i.test(one('transfer-encoding') ?? '')
  }
}

/**
 * One upstream GET shared by every client asking for the same path: the body goes to a temp
 * file under `tmp/` (a Spool), hashed as it goes. Clients that keep up get each chunk as it
 * arrives; one that falls behind, joins late or wants a range reads the spool. The upstream is
 * read as fast as it sends, whoever reads (as a front server's proxy buffering does): a slow
 * client never holds it back, and the spool keeps only its newest bytes in memory. Its end comes
 * unless `abort()` is called.
 */
export class Download {
  readonly tmpPath: string
  readonly spool: Spool
  readonly #spec: DownloadSpec
  readonly #controller = new AbortController()
  readonly #listeners = new Set<DownloadListener>()
  /** Clients attached and not yet released. */
  #readers = 0
  #state: DownloadState = 'starting'
  #head: DownloadHead | undefined
  #error: PulpError | undefined
  #sha256: string | undefined
  /** The body matched the spec's `digest`. */
  #verified = false
  #disposed = false
  /** The bytes come from another instance's download (nothing to save here). */
  #shared = false
  /** Resolves with the head, or rejects with the failure that came before one. */
  readonly headReady: Promise<DownloadHead>
  /** Resolves when the body is complete or the download failed; never rejects. */
  readonly settled: Promise<void>

  constructor (spec: DownloadSpec) {
    this.#spec = spec
    this.tmpPath = spec.tmpPath ?? spec.temp.create('pull')
    this.spool = new Spool(this.tmpPath)
    let resolveHead!: (head: DownloadHead) => void
    let rejectHead!: (err: unknown) => void
    this.headReady = new Promise((resolve, reject) => { resolveHead = resolve; rejectHead = reject })
    this.headReady.catch(() => {})
    this.settled = this.#run(resolveHead, rejectHead)
  }

  get state (): DownloadState { return this.#state }
  get head (): DownloadHead | undefined { return this.#head }
  get error (): PulpError | undefined { return this.#error }
  /** The body's digest once complete. */
  get sha256 (): string | undefined { return this.#sha256 }
  /**
   * The body is complete and may be kept: the upstream framed its end, or a digest known in
   * advance verified it (CONTRACT 13). Anything else was streamed and is not saved.
   */
  get savable (): boolean {
    return this.#state === 'complete' && (this.#verified || this.#head?.framed === true)
  }

  get remote (): StoredRemote { return this.#spec.remote }
  get relativePath (): string { return this.#spec.relativePath }
  /** False when the bytes were read from another instance's download, not the remote. */
  get fromUpstream (): boolean { return !this.#shared }

  subscribe (listener: DownloadListener): void { this.#listeners.add(listener) }
  unsubscribe (listener: DownloadListener): void { this.#listeners.delete(listener) }

  /** A client starts reading: the spool stays readable until it releases. */
  attach (): Attachment {
    this.spool.retain()
    this.#readers++
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        this.#readers--
        if (this.#readers === 0 && (this.#spec.abortWhenUnwatched || this.#shared)) {
          this.abort(new UpstreamError(`every client of "${this.#spec.relativePath}" left before its end`))
        }
        this.spool.release()
      }
    }
  }

  /** Stops the download unless a client reads it (a path started on a guess turned out saved); true if it stopped. */
  abandon (reason: PulpError): boolean {
    if (this.#readers > 0 || (this.#state !== 'starting' && this.#state !== 'streaming')) return false
    this.abort(reason)
    return true
  }

  /** Stops the download (the middleware closes, or nobody wants a body that is not saved). */
  abort (reason: PulpError): void {
    if (this.#state === 'starting' || this.#state === 'streaming') this.#controller.abort(reason)
  }

  /**
   * The owner is done with the download (it left the in-flight map): the temp file goes, and
   * its handle closes once the last attached client has read what it needs.
   */
  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    await this.settled
    this.spool.release()
    // Our own name only (never created when shared): another instance's file is its own to remove.
    await this.#spec.temp.release(this.tmpPath)
  }

  async #run (resolveHead: (head: DownloadHead) => void, rejectHead: (err: unknown) => void): Promise<void> {
    const { remote, relativePath } = this.#spec
    let timer: NodeJS.Timeout | undefined
    if (remote.totalTimeout !== null) {
      const reason = new UpstreamTimeoutError(`remote "${remote.name}" took longer than its total_timeout of ${remote.totalTimeout} s for "${relativePath}"`)
      timer = setTimeout(() => this.#controller.abort(reason), remote.totalTimeout * 1000).unref()
    }
    let opening: Promise<void> | undefined
    let origin: DownloadOrigin | undefined
    try {
      origin = this.#spec.origin === undefined ? UPSTREAM : await this.#spec.origin(this.#controller.signal, path.basename(this.tmpPath))
      if (origin.kind === 'saved') throw new SavedElsewhereError(`"${relativePath}" of remote "${remote.name}" was saved by another instance`)
      let body: AsyncIterable<Buffer>
      let head: DownloadHead
      if (origin.kind === 'shared') {
        this.#shared = true
        this.spool.useFile(origin.file)
        // Its clients may all have left while it waited; nothing here keeps what it would read.
        if (this.#readers === 0) this.abort(new UpstreamError(`every client of "${relativePath}" left before its head`))
        head = origin.head
        body = origin.body
      } else {
        const conditional = this.#spec.conditional
        // The temp file opens while the upstream is asked, not before: first bytes come sooner.
        // A revalidation, mostly answered 304, opens it only for a new body.
        if (conditional === undefined) {
          opening = this.spool.open()
          opening.catch(() => {})
        }
        const res = await this.#spec.clients.request({
          remote, url: this.#spec.url, method: 'GET', via: this.#spec.via, relativePath, signal: this.#controller.signal, conditional, accept: this.#spec.accept
        })
        if (res.statusCode !== 304) opening ??= this.spool.open()
        await opening?.catch((err: unknown) => {
          // The abort that follows fails the body too; nobody reads it any more.
          res.body.on('error', () => {}).destroy()
          throw err
        })
        if (res.statusCode === 304 && conditional !== undefined) {
          res.body.resume()
          const { etag, lastModified } = headOf(res.headers)
          await conditional.onNotModified({ etag, lastModified })
          throw new NotModifiedError(`remote "${remote.name}" has not modified "${relativePath}"`)
        }
        head = headOf(res.headers)
        body = res.body
        origin.onHead?.(head)
      }
      this.#head = head
      this.#state = 'streaming'
      resolveHead(head)
      const size = await this.#pump(body)
      const expected = head.contentLength
      if (expected !== undefined && size !== expected) {
        throw new UpstreamError(`remote "${remote.name}" sent ${size} of the ${expected} bytes of "${relativePath}" its Content-Length announced`)
      }
      if (origin.kind === 'shared') await origin.verify(this.#sha256 as string, size)
      this.#state = 'complete'
      debug('%s: %s complete (%d bytes%s)', remote.name, relativePath, size, this.#shared ? ', read from another instance' : '')
    } catch (err: unknown) {
      await opening?.catch(() => {})
      const cause = this.#controller.signal.aborted ? this.#controller.signal.reason : err
      // A fault of our own disk (tmp/ read-only or full) is not the remote's.
      this.#error = localFault(cause, path.dirname(this.#spec.temp.dir), this.tmpPath) ?? upstreamFailure(cause, remote.name, relativePath)
      if (origin?.kind === 'upstream') await origin.onFailure?.(this.#error)
      await this.#spec.onFailure?.(this.#error).catch((failure: unknown) => debug('%s: %s: after its failure: %s', remote.name, relativePath, (failure as Error).message))
      this.#state = 'failed'
      rejectHead(this.#error)
      debug('%s: %s failed: %s', remote.name, relativePath, this.#error.message)
    } finally {
      clearTimeout(timer)
    }
    for (const listener of this.#listeners) listener.onSettled()
    this.#listeners.clear()
  }

  /**
   * Hashes the body, hands each chunk to the clients following live, and spools it. The hash
   * stays on this thread (uploads use the hashing worker): measured on two cores, a cold pull
   * went no faster with the worker, which cost its ~10 MB beside every download's own memory.
   */
  async #pump (body: AsyncIterable<Buffer>): Promise<number> {
    const hash = createHash('sha256')
    const digest = this.#spec.digest
    const other = digest === undefined || digest.algorithm === 'sha256' ? undefined : createHash(digest.algorithm)
    const spool = this.spool
    let chunks = 0
    try {
      for await (const chunk of body) {
        chunks++
        hash.update(chunk)
        other?.update(chunk)
        const offset = spool.received
        spool.push(chunk)
        for (const listener of this.#listeners) listener.onData(chunk, offset)
        await spool.caughtUp()
      }
    } finally {
      // Never leave a write running past a failure: the handle closes right after.
      await spool.drain().catch(() => {})
    }
    await spool.drain()
    const sha256 = hash.digest('hex')
    if (digest !== undefined && (other?.digest('hex') ?? sha256) !== digest.hex.toLowerCase()) {
      throw new DigestMismatchError(`remote "${this.#spec.remote.name}" sent bytes for "${this.#spec.relativePath}" that do not match the ${digest.algorithm} its index gives`)
    }
    this.#sha256 = sha256
    this.#verified = digest !== undefined
    // How the body arrived (undici's chunks) and went to disk, for whoever profiles a pull.
    debug('%s: %s: %d bytes in %d chunks, %d writes', this.#spec.remote.name, this.#spec.relativePath, spool.received, chunks, spool.writes)
    return spool.received
  }
}
