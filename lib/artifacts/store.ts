import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { createHash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { chmod, link, mkdir, stat } from 'node:fs/promises'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import createDebug from 'debug'
import { localFault, PayloadTooLargeError, ValidationError } from '../errors'
import { FileHasher, hashFile, type FileDigest, type Hasher } from './file-hasher'
import { TempFiles } from './temp-files'

const debug = createDebug('pulp:artifacts')

const SHA256 = /^[0-9a-f]{64}$/

/**
 * Bytes a pending artifact may hold between its source and the disk. With the streams'
 * default 16 KiB every 64 KiB socket chunk waited for its own write before the next was
 * read; with room for a few chunks the network keeps arriving while a write is under way,
 * and what piles up meanwhile goes out in one writev (see bench/upload.ts).
 */
const WRITE_BUFFER = 1024 * 1024

/**
 * A part that ends within this many bytes is held in memory while it streams, hashed on the
 * calling thread as its chunks arrive, and written to its temp file in one call. For files
 * of a few KiB, the streamed path's fixed costs (a write stream, a pipeline, three messages to
 * the hashing worker, a chmod) were most of an upload's time (bench/push.ts). Past this size
 * the bytes read so far go out first and the rest streams as before, so no upload is ever
 * held whole.
 */
export const SMALL_PART = 256 * 1024

export interface StoredArtifact {
  sha256: string
  size: number
  /** Absolute path of the artifact file under `artifacts/`. */
  path: string
}

/** Counts the bytes that flow through, refuses more than `limit`, and reports each chunk. */
class CountingStream extends Transform {
  readonly #limit: number
  readonly #onChunk: () => void
  bytes = 0

  constructor (limit: number, onChunk: () => void) {
    super({ highWaterMark: WRITE_BUFFER })
    this.#limit = limit
    this.#onChunk = onChunk
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.#limit) {
      callback(new PayloadTooLargeError(`the file is larger than the limit of ${this.#limit} bytes`))
      return
    }
    this.#onChunk()
    callback(null, chunk)
  }
}

/** The start of a source: all of it (`ended`), or its first chunks, past `max` bytes. */
interface Head { chunks: Buffer[], bytes: number, ended: boolean }

/**
 * Reads `source` until it ends or has given more than `max` bytes. A source that goes on is
 * left paused with nothing listening, for a pipeline to take over.
 */
async function readHead (source: Readable, max: number, signal?: AbortSignal): Promise<Head> {
  return await new Promise<Head>((resolve, reject) => {
    const head: Head = { chunks: [], bytes: 0, ended: false }
    const done = (err?: unknown): void => {
      source.off('data', onData).off('end', onEnd).off('error', done)
      signal?.removeEventListener('abort', onAbort)
      if (err === undefined) resolve(head)
      else reject(err)
    }
    const onData = (chunk: Buffer): void => {
      head.chunks.push(chunk)
      head.bytes += chunk.length
      if (head.bytes > max) {
        source.pause()
        done()
      }
    }
    const onEnd = (): void => {
      head.ended = true
      done()
    }
    const onAbort = (): void => { done(signal?.reason) }
    if (signal?.aborted === true) return reject(signal.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    source.on('data', onData).once('end', onEnd).once('error', done)
  })
}

/**
 * A file being written under `tmp/`: bytes go in through `write()`, and `commit()` moves the
 * finished file into the content-addressed store. A small file is hashed in memory and
 * written by the hashing worker in one message (file-calls.ts); a larger one streams to disk and is hashed by the hashing worker as it
 * lands (see file-hasher.ts), so the event loop only moves bytes. Either way the temp file is
 * created read-only (its descriptor still writes), as the artifact it becomes must be.
 */
export class PendingArtifact {
  readonly tmpPath: string
  readonly #store: ArtifactStore
  readonly #limit: number
  #counter: CountingStream | undefined
  #file: WriteStream | undefined
  #digest: FileDigest | undefined
  /** A small file's digest and size, known once it is written. */
  #small: { sha256: string, size: number } | undefined
  #sha256: string | undefined
  #discarded = false
  #released: Promise<void> | undefined

  constructor (store: ArtifactStore, limit = Number.POSITIVE_INFINITY) {
    this.#store = store
    this.#limit = limit
    this.tmpPath = store.temp.create('part')
  }

  /** The store it goes into. */
  get store (): ArtifactStore { return this.#store }

  /** Bytes written so far. */
  get bytes (): number { return this.#small?.size ?? this.#counter?.bytes ?? 0 }

  /** Writes `source` to the temp file; rejects (and removes the file) on any error. */
  async write (source: Readable, signal?: AbortSignal): Promise<void> {
    try {
      const head = await readHead(source, Math.min(SMALL_PART, this.#limit), signal)
      // A source whose last chunk went past SMALL_PART may have ended since: every byte it
      // had is in `head` then, and it can take nothing back (`unshift` after 'end' loses it).
      if (head.ended || source.readableEnded) {
        if (head.bytes > this.#limit) throw new PayloadTooLargeError(`the file is larger than the limit of ${this.#limit} bytes`)
        const bytes = head.chunks.length === 1 ? head.chunks[0] : Buffer.concat(head.chunks, head.bytes)
        this.#small = { sha256: createHash('sha256').update(bytes).digest('hex'), size: head.bytes }
        await this.#store.hasher.call({ op: 'write', path: this.tmpPath, bytes })
        return
      }
      // The bytes read so far go back in front of the rest, through the counter like any other.
      source.unshift(head.chunks.length === 1 ? head.chunks[0] : Buffer.concat(head.chunks, head.bytes))
      const file = this.#file = createWriteStream(this.tmpPath, { flags: 'wx', mode: 0o444, highWaterMark: WRITE_BUFFER })
      // The worker opens the file by name, so only once it exists.
      file.once('open', () => { if (!this.#discarded) this.#digest = this.#store.hasher.follow(this.tmpPath) })
      this.#counter = new CountingStream(this.#limit, () => this.#digest?.advance(file.bytesWritten))
      await pipeline(source, this.#counter, file, signal ? { signal } : {})
    } catch (err: unknown) {
      source.destroy()
      await this.discard()
      throw localFault(err, this.#store.dataDir, this.tmpPath) ?? err
    }
  }

  async commit (): Promise<StoredArtifact> {
    return await this.commitWith(async (artifact) => artifact)
  }

  /**
   * Moves the file into the store, then runs `record` (the database rows that reference it)
   * while the temp file is still here: if an orphan cleanup removed the stored file between
   * the two, it is linked back from the temp file once the rows hold it.
   */
  async commitWith<T> (record: (artifact: StoredArtifact) => Promise<T>): Promise<T> {
    return await commitAll([this], async ([artifact]) => await record(artifact))
  }

  /** The finished file's digest and where in the store it goes (not linked yet). */
  async identify (): Promise<StoredArtifact> {
    const size = this.bytes
    this.#sha256 ??= this.#small?.sha256 ??
      (this.#digest === undefined ? await hashFile(this.tmpPath, size) : await this.#digest.digest(size))
    return { sha256: this.#sha256, size, path: this.#store.pathOf(this.#sha256) }
  }

  /** Removes the temp file; safe to call more than once. */
  async discard (): Promise<void> {
    await PendingArtifact.discardAll([this])
  }

  /** `discard` for several, their files removed in one call. */
  static async discardAll (pendings: readonly PendingArtifact[]): Promise<void> {
    const removing = pendings.filter((p) => p.#released === undefined)
    if (removing.length > 0) {
      const store = removing[0].#store
      const done = (async () => {
        // A file opens asynchronously: removed before its open completed, it would be
        // created after the removal and stay behind. Closed first, it is there to remove.
        await Promise.all(removing.map(async (p) => { await p.#stop() }))
        await store.temp.releaseAll(removing.map((p) => p.tmpPath), async (paths) => { await store.hasher.call({ op: 'unlink', paths }) })
      })()
      for (const p of removing) p.#released = done
    }
    await Promise.all(pendings.map(async (p) => { await p.#released }))
  }

  async #stop (): Promise<void> {
    this.#discarded = true
    this.#digest?.dispose()
    const file = this.#file
    if (file === undefined) return
    await new Promise<void>((resolve) => {
      if (file.closed) return resolve()
      file.once('close', () => resolve())
      file.destroy()
    })
  }
}

/**
 * Commits several pending artifacts as one: all are linked into the store in one call, then
 * `record` runs (the rows that reference them) while every temp file is still here, and
 * afterwards each is linked again, which puts back any that an orphan cleanup removed
 * between the two (see lib/orphans/cleanup.ts). The temp files are gone afterwards, whatever
 * happened.
 */
export async function commitAll<T> (pendings: readonly PendingArtifact[], record: (artifacts: StoredArtifact[]) => Promise<T>): Promise<T> {
  try {
    const artifacts = await settledAll(pendings.map(async (p) => await p.identify()))
    const link = async (): Promise<void> => {
      if (pendings.length === 0) return
      // One call links them all (see file-calls.ts); every temp file was created read-only.
      await pendings[0].store.hasher.call({ op: 'link', pairs: pendings.map((p, i) => [p.tmpPath, artifacts[i].path]) })
    }
    await link()
    const recorded = await record(artifacts)
    await link()
    return recorded
  } finally {
    await PendingArtifact.discardAll(pendings)
  }
}

/** `Promise.all`, but only once every promise has settled: nothing is left running on a failure. */
async function settledAll<T> (promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<T>).value)
}

/**
 * Content-addressed files: `artifacts/<sha256[0:2]>/<sha256[2:]>`, written once and never
 * modified. Writers stage in `tmp/` and hard-link into place, which is atomic and never
 * replaces an existing file: two writers of the same bytes end with one intact artifact, and
 * readers never see a partial one.
 */
export class ArtifactStore {
  readonly dataDir: string
  readonly root: string
  readonly tmpDir: string
  /** Names every temp file this instance writes under `tmp/`. */
  readonly temp: TempFiles
  /** Hashes what is written here as it lands; this store's own, stopped by `close()`. */
  readonly hasher: Hasher
  #ready: Promise<void> | undefined

  /** `instanceId` names this instance's temp files (see temp-files.ts). */
  constructor (dataDir: string, instanceId: string = randomUUID(), hasher: Hasher = new FileHasher()) {
    this.dataDir = dataDir
    this.root = path.join(dataDir, 'artifacts')
    this.tmpDir = path.join(dataDir, 'tmp')
    this.temp = new TempFiles(this.tmpDir, instanceId)
    this.hasher = hasher
  }

  /** Stops its hashing worker; files written later are hashed on the calling thread. */
  async close (): Promise<void> {
    await this.hasher.close()
  }

  async init (): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.root, { recursive: true })
      await mkdir(this.tmpDir, { recursive: true })
    })()
    return this.#ready
  }

  pathOf (sha256: string): string {
    if (!SHA256.test(sha256)) throw new ValidationError(`"${sha256}" is not a sha256 hex digest`)
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2))
  }

  /** Starts a temp file; `limit` is the most bytes it accepts (413 past it). */
  begin (limit?: number): PendingArtifact {
    return new PendingArtifact(this, limit)
  }

  /** Streams `source` into the store and returns the artifact. */
  async ingest (source: Readable, options: { limit?: number, signal?: AbortSignal } = {}): Promise<StoredArtifact> {
    await this.init()
    const pending = this.begin(options.limit)
    await pending.write(source, options.signal)
    return await pending.commit()
  }

  /**
   * Moves a finished temp file (whose digest is known) into place; the temp file is left for
   * the caller. `readOnly`: the temp file was created read-only already (no chmod needed).
   */
  async adopt (tmpPath: string, sha256: string, size: number, options: { readOnly?: boolean } = {}): Promise<StoredArtifact> {
    const target = this.pathOf(sha256)
    if (options.readOnly !== true) await chmod(tmpPath, 0o444)
    try {
      // The fan-out directory exists but for the first artifacts: made only when missing.
      await link(tmpPath, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
        await mkdir(path.dirname(target), { recursive: true })
        await link(tmpPath, target)
      })
      debug('stored %s (%d bytes)', sha256, size)
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      debug('deduplicated %s', sha256)
    }
    return { sha256, size, path: target }
  }

  async exists (sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile()
    } catch {
      return false
    }
  }
}
