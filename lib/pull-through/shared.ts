import path from 'node:path'
import { createHash, randomUUID } from 'node:crypto'
import { open, rm, type FileHandle } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import createDebug from 'debug'
import type { PulpContext } from '../core/context'
import { ERROR_CODES, NotFoundError, type PulpError, UpstreamError, UpstreamTimeoutError } from '../errors'
import { PullLeases, type PullLease, type PullProgress, type PullTarget } from '../storage/pull-leases'
import { findRemoteArtifact } from '../storage/remote-artifacts'
import type { StoredRemote } from '../storage/remotes'
import { localHost, processRuns } from '../storage/workers'
import type { Download, DownloadHead, DownloadOrigin } from './download'

const debug = createDebug('pulp:content:pull-through:shared')

/** How often an instance waiting on another asks whether that one is still there (ms). */
const PROBE_MS = 250
/** Polling of the leader's row (before its head) and file (after it), backing off between these (ms). */
const POLL_MIN_MS = 2
const POLL_MAX_MS = 25
/** How often a follower that caught up with a leader still receiving reads the leader's row (ms). */
const CHECK_MS = 100
/** A file recorded as saved yet read short this long is given up on (ms). */
const SHORT_MS = 2000
/** How long a failure stays readable for instances that were waiting (ms). */
const FAILURE_KEEP_MS = 5000
/** The most a failure waits to be recorded before its clients hear of it anyway (ms). */
const FAILURE_WAIT_MS = 2000
const READ_CHUNK = 512 * 1024
/** The names Download gives its temp files: anything else in a row is not ours to open or remove. */
const TMP_NAME = /^(?:[0-9a-f-]{36}\.)?[0-9a-f-]{36}\.pull$/

/** Errors a follower answers as its leader did; any other failure (the leader closing, ...) is retried. */
const REPLAYED = new Map<string, (message: string) => PulpError>([
  [ERROR_CODES.NOT_FOUND, (m) => new NotFoundError(m)],
  [ERROR_CODES.UPSTREAM, (m) => new UpstreamError(m)],
  [ERROR_CODES.UPSTREAM_TIMEOUT, (m) => new UpstreamTimeoutError(m)]
])

export interface Final { size: number, sha256: string }

function replayed (json: string | null): PulpError | undefined {
  try {
    const { code, message } = JSON.parse(json ?? 'null') as { code?: unknown, message?: unknown }
    return typeof code === 'string' && typeof message === 'string' ? REPLAYED.get(code)?.(message) : undefined
  } catch {
    return undefined
  }
}

/** Waits `ms`; rejects with the signal's own reason once it aborts. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal })
  } catch (err: unknown) {
    signal.throwIfAborted()
    throw err
  }
}

function headFrom (json: string): DownloadHead {
  const raw = JSON.parse(json) as Record<string, unknown>
  const text = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
  return {
    contentType: text(raw.contentType),
    contentLength: typeof raw.contentLength === 'number' ? raw.contentLength : undefined,
    contentEncoding: text(raw.contentEncoding),
    lastModified: text(raw.lastModified),
    ...(typeof raw.etag === 'string' ? { etag: raw.etag } : {}),
    // A row written before this field existed came from a leader that saved what it fetched.
    framed: raw.framed !== false
  }
}

/**
 * Pull-through across instances sharing a database and `dataDir`: for each remote and path one
 * instance (the leader, holding a lease) fetches and saves; the others follow the temp file it
 * writes on the shared volume, and check the bytes against the digest it records at the end.
 */
export class SharedDownloads {
  readonly #ctx: PulpContext
  readonly #leases: PullLeases
  readonly #host = localHost()

  constructor (ctx: PulpContext) {
    this.#ctx = ctx
    this.#leases = new PullLeases(ctx.knex, ctx.dialect, { process: { host: this.#host, pid: process.pid } })
  }

  /** The cross-instance side of this instance's download of `relativePath`. */
  begin (remote: StoredRemote, relativePath: string, record?: SharedRecord): SharedDownload {
    const target = record === undefined
      ? { remoteName: remote.name, relativePath }
      : { remoteName: remote.name, relativePath, variant: record.variant }
    return new SharedDownload(this.#ctx, this.#leases, target, this.#host, record)
  }

  async close (): Promise<void> {
    await this.#leases.close()
  }
}

/**
 * Where a path's outcome is recorded, when not as an immutable artifact of the remote (a
 * metadata copy is an entry of the pull-through cache, kept apart per variant).
 */
export interface SharedRecord {
  /** Told apart from the path's other records (a variant); '' for none. */
  variant: string
  /**
   * Whether the path needs no fetch any more, from what the claim found: the remote artifact's
   * sha256, and the `fetched` stamp of the path's cache entry of `variant` (both null for none).
   */
  isSaved: (savedSha256: string | null, entryFetched: string | null) => Promise<boolean>
  /** The size and digest of what the leader saved, once it did. */
  saved: () => Promise<Final | undefined>
  /**
   * False when the leader's temp file holds bytes no client may get (an index the remote type
   * rewrites before it is saved): the others wait for the save and serve it.
   */
  followable?: boolean
}

export class SharedDownload {
  readonly #ctx: PulpContext
  readonly #leases: PullLeases
  readonly #target: PullTarget
  readonly #key: string
  readonly #record: SharedRecord | undefined
  /** Where this process runs, to judge leaders on the same host by their pid. */
  readonly #host: string
  /** Names this download in the rows it writes. */
  readonly #owner = randomUUID()
  #lease: PullLease | undefined
  /** A claim made before the download exists (see `claimEarly`), for the temp file `file`. */
  #early: { file: string, claim: Promise<DownloadOrigin | undefined> } | undefined

  constructor (ctx: PulpContext, leases: PullLeases, target: PullTarget, host: string, record?: SharedRecord) {
    this.#ctx = ctx
    this.#leases = leases
    this.#target = target
    this.#host = host
    this.#record = record
    const variant = record === undefined || record.variant === '' ? '' : `\0${record.variant}`
    this.#key = createHash('sha256').update(`${target.remoteName}\0${target.relativePath}${variant}`).digest('hex')
  }

  /**
   * Claims the lease now, naming the temp file `file`, while the caller still looks up whether
   * the path needs a fetch at all: a cold pull's upstream request then waits on the lookup and
   * the claim together, not one after the other (bench 3, time to first byte). `origin` starts
   * from this claim; `withdraw` lets it go when no download follows.
   */
  claimEarly (file: string): void {
    const claim = this.#tryLead(file)
    claim.catch(() => {})
    this.#early = { file, claim }
  }

  /** No download follows the early claim: its lease, if it won one, is let go. */
  async withdraw (): Promise<void> {
    const early = this.#early
    this.#early = undefined
    if (early === undefined) return
    const origin = await early.claim.catch(() => undefined)
    const lease = this.#lease
    this.#lease = undefined
    if (origin?.kind === 'upstream') await lease?.release()
  }

  /**
   * Where the bytes come from: the upstream when this instance takes the lease; else the file of
   * the instance that holds it, once that one has its head; or the store, when it saved them
   * meanwhile. A leader that goes away before its head is replaced by whoever asks next.
   */
  readonly origin = async (signal: AbortSignal, file: string): Promise<DownloadOrigin> => {
    /** Leaders seen at work while we waited: their failure is ours to answer with. */
    const working = new Set<string>()
    let probeAt = 0
    let delay = POLL_MIN_MS
    for (;;) {
      signal.throwIfAborted()
      if (performance.now() >= probeAt) {
        probeAt = performance.now() + PROBE_MS
        const early = this.#early
        this.#early = undefined
        const led = await (early?.file === file ? early.claim : this.#tryLead(file))
        if (led !== undefined) return led
      }
      const row = await this.#leases.read(this.#key)
      if (row === undefined) {
        // A lock without a row is a leader just starting, or just done saving: ask again soon.
        probeAt = 0
      } else {
        if (row.state !== 'failed' && this.#dead(row)) {
          // Its process is gone: its file will never grow, and its lease need not run out.
          const led = await this.#tryLead(file, row.owner)
          if (led !== undefined) return led
        }
        const failure = row.state === 'failed' && working.has(row.owner) ? replayed(row.error) : undefined
        if (failure !== undefined) throw failure
        // Any other failure is tried again, as soon as its leader has let go.
        if (row.state === 'failed') probeAt = 0
        if (row.state === 'starting' || row.state === 'streaming') working.add(row.owner)
        // Only what the leader saves may be served: wait for its row to go (saved or failed).
        const followable = this.#record?.followable !== false
        if (followable && row.state === 'streaming' && row.head !== null && !headFrom(row.head).framed) {
          // Its body ends only when its connection closes, so it will not be saved and its
          // end could not be checked here: fetch our own copy for our clients (saved by nobody).
          return { kind: 'upstream' }
        }
        if (followable && row.state === 'streaming') {
          const followed = await this.#follow(row, signal)
          if (followed !== undefined) return followed
          // Its file has gone, so its download ended: look at the lease again soon.
          probeAt = 0
        }
      }
      await pause(delay, signal)
      delay = Math.min(delay * 2, POLL_MAX_MS)
    }
  }

  /**
   * After the download settled. A leader that got the whole body saves it, its row going in the
   * same transaction (which is how followers learn the path is complete and saved); a failure is
   * recorded for the instances that waited. Either way the path is let go.
   */
  async finish (download: Download, save: (within: (trx: Knex) => Promise<void>) => Promise<void>): Promise<void> {
    // A failure let go already (see #fail); a follower holds nothing.
    const lease = this.#lease
    if (lease === undefined || download.state !== 'complete') return
    if (!download.savable) {
      this.#lease = undefined
      debug('%s: %s was streamed, not saved: its end was not framed', this.#target.remoteName, this.#target.relativePath)
      await lease.release()
      return
    }
    await this.settle(save)
  }

  /**
   * Records what the leader learnt (a save, a 304's renewal) with the lease's row going in the
   * same transaction, then lets go; without a lease `record` runs alone.
   */
  async settle (record: (within: (trx: Knex) => Promise<void>) => Promise<void>): Promise<void> {
    await this.settleLater()(record)
  }

  /**
   * `settle`, with the lease taken from this download now and the record written when the
   * returned function is called: a 304's clients are answered first, and the failure the
   * download then settles with (NotModifiedError) finds no lease to record it on.
   */
  settleLater (): (record: (within: (trx: Knex) => Promise<void>) => Promise<void>) => Promise<void> {
    const lease = this.#lease
    this.#lease = undefined
    return async (record) => {
      if (lease === undefined) {
        await record(async () => {})
        return
      }
      let saved = false
      try {
        await record(lease.retire)
        saved = true
      } finally {
        await lease.release(saved ? { retired: true } : undefined)
      }
    }
  }

  /** Whether a leader's process, on this host, has died (a leader elsewhere is judged by its lease or lock). */
  #dead (row: PullProgress): boolean {
    return row.host === this.#host && row.pid !== null && row.pid !== process.pid && !processRuns(row.pid)
  }

  /** `deadOwner`: the leader seen dead, whose lease is taken at once. */
  async #tryLead (file: string, deadOwner?: string): Promise<DownloadOrigin | undefined> {
    const claim = await this.#leases.tryLead(this.#key, this.#owner, file, this.#target, deadOwner)
    if (claim === undefined) return undefined
    const { lease } = claim
    this.#removeLeftover(claim.previousFile, file)
    try {
      const saved = this.#record === undefined
        ? claim.savedSha256 !== null && await this.#ctx.artifacts.exists(claim.savedSha256)
        : await this.#record.isSaved(claim.savedSha256, claim.entryFetched)
      if (saved) {
        await lease.release()
        debug('%s: %s was saved by another instance meanwhile', this.#target.remoteName, this.#target.relativePath)
        return { kind: 'saved' }
      }
    } catch (err: unknown) {
      await lease.release()
      throw err
    }
    this.#lease = lease
    const noted = (err: unknown): void => debug('%s: publishing the head of %s: %s', this.#target.remoteName, this.#target.relativePath, (err as Error).message)
    return {
      kind: 'upstream',
      onHead: (head) => { lease.update({ state: 'streaming', head: JSON.stringify(head) }).catch(noted) },
      onFailure: async (error) => { await this.#fail(error) }
    }
  }

  /** Records a failure for the instances that waited and lets go, before any client hears of it. */
  async #fail (error: PulpError): Promise<void> {
    const lease = this.#lease
    if (lease === undefined) return
    this.#lease = undefined
    const recording = lease.release({ failure: JSON.stringify({ code: error.code, message: error.message }), keepMs: FAILURE_KEEP_MS })
      .catch((err: unknown) => debug('%s: recording the failure of %s: %s', this.#target.remoteName, this.#target.relativePath, (err as Error).message))
    // A database slow to answer must not hold clients without their error.
    await Promise.race([recording, sleep(FAILURE_WAIT_MS, undefined, { ref: false })])
  }

  /** A leader that died left its partial file; the next one to take the path removes it. */
  #removeLeftover (previous: string | null, ours: string): void {
    if (previous === null || previous === ours || !TMP_NAME.test(previous)) return
    rm(path.join(this.#ctx.artifacts.tmpDir, previous), { force: true })
      .catch((err: unknown) => debug('removing %s: %s', previous, (err as Error).message))
  }

  /** Follows the leader's file as it grows; undefined when the file is already gone. */
  async #follow (row: PullProgress, signal: AbortSignal): Promise<DownloadOrigin | undefined> {
    if (row.file === null || !TMP_NAME.test(row.file) || row.head === null) return undefined
    let fh: FileHandle
    try {
      fh = await open(path.join(this.#ctx.artifacts.tmpDir, row.file), 'r')
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    const head = headFrom(row.head)
    const ending: { final: Final | undefined } = { final: undefined }
    debug('%s: following %s from another instance', this.#target.remoteName, this.#target.relativePath)
    return {
      kind: 'shared',
      head,
      file: fh,
      body: this.#read(fh, row.owner, head.contentLength, ending, signal),
      verify: async (sha256, size) => {
        const final = ending.final
        if (final?.sha256 !== sha256 || final.size !== size) {
          throw new UpstreamError(`the bytes of "${this.#target.relativePath}" (remote "${this.#target.remoteName}") read from another instance do not match what it recorded`)
        }
      }
    }
  }

  /**
   * The leader's file from byte 0, as it grows: read to its current end, then wait a little and
   * read again. Once caught up, the leader's row tells whether it is still at work; when it is
   * gone, the path's record gives the size and digest the bytes must have.
   */
  async * #read (
    fh: FileHandle,
    owner: string,
    length: number | undefined,
    ending: { final: Final | undefined },
    signal: AbortSignal
  ): AsyncGenerator<Buffer> {
    let pos = 0
    let delay = POLL_MIN_MS
    let grewAt = performance.now()
    let checkedAt = grewAt
    let probedAt = grewAt
    for (;;) {
      signal.throwIfAborted()
      const final = ending.final
      if (final !== undefined && pos >= final.size) return
      const want = final === undefined ? READ_CHUNK : Math.min(READ_CHUNK, final.size - pos)
      const buffer = Buffer.allocUnsafe(want)
      const { bytesRead } = await fh.read(buffer, 0, want, pos)
      const at = performance.now()
      if (bytesRead > 0) {
        pos += bytesRead
        delay = POLL_MIN_MS
        grewAt = at
        yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead)
        continue
      }
      if (final !== undefined) {
        // Saved yet short here: a network file system's stale view, or a truncated file.
        if (at - grewAt > SHORT_MS) throw new UpstreamError(`the file of "${this.#target.relativePath}" (remote "${this.#target.remoteName}") ended short`)
      } else if (pos === length || at - checkedAt >= CHECK_MS) {
        // With every announced byte in, only the save is left: look at each wake-up.
        checkedAt = at
        const probe = at - grewAt >= PROBE_MS && at - probedAt >= PROBE_MS
        if (probe) probedAt = at
        ending.final = await this.#ending(owner, probe)
        if (ending.final !== undefined) continue
      }
      await pause(delay, signal)
      delay = Math.min(delay * 2, POLL_MAX_MS)
    }
  }

  /**
   * How the followed download ended: the size and digest it was saved with, undefined while it
   * runs. Throws when it failed, or when its instance is gone without saving it. `probe`: its
   * file stopped growing, so check the instance is still there.
   */
  async #ending (owner: string, probe: boolean): Promise<Final | undefined> {
    const { remoteName, relativePath } = this.#target
    const row = await this.#leases.read(this.#key)
    if (row?.owner === owner) {
      if (row.state === 'failed') throw replayed(row.error) ?? new UpstreamError(`the instance fetching "${relativePath}" of remote "${remoteName}" failed`)
      if (!probe) return undefined
      const claim = await this.#leases.tryLead(this.#key, this.#owner, '', this.#target, this.#dead(row) ? owner : undefined)
      // Still held: the leader is alive, only its upstream is slow.
      if (claim === undefined) return undefined
      this.#removeLeftover(claim.previousFile, '')
      await claim.lease.release()
    }
    // Its row is gone (with the save) or replaced: the leader finished, or stopped.
    const saved = this.#record === undefined
      ? await findRemoteArtifact(this.#ctx.knex, remoteName, relativePath)
      : await this.#record.saved()
    if (saved !== undefined) return { size: saved.size, sha256: saved.sha256 }
    throw new UpstreamError(`the instance fetching "${relativePath}" of remote "${remoteName}" stopped before the end`)
  }
}
