import path from 'node:path'
import { randomUUID } from 'node:crypto'
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

/**
 * A file being written under `tmp/`: bytes go in through `write()`, and `commit()` moves the
 * finished file into the content-addressed store. The file is hashed by the hashing worker as
 * it lands on disk (see file-hasher.ts), so the event loop only moves bytes.
 */
export class PendingArtifact {
  readonly tmpPath: string
  readonly file: WriteStream
  readonly #counter: CountingStream
  readonly #store: ArtifactStore
  #digest: FileDigest | undefined
  #discarded = false

  constructor (store: ArtifactStore, limit = Number.POSITIVE_INFINITY) {
    this.#store = store
    this.tmpPath = store.temp.create('part')
    this.file = createWriteStream(this.tmpPath, { flags: 'wx', mode: 0o644, highWaterMark: WRITE_BUFFER })
    // The worker opens the file by name, so only once it exists.
    this.file.once('open', () => { if (!this.#discarded) this.#digest = store.hasher.follow(this.tmpPath) })
    this.#counter = new CountingStream(limit, () => this.#digest?.advance(this.file.bytesWritten))
  }

  /** Bytes written so far. */
  get bytes (): number { return this.#counter.bytes }

  /** Pipes `source` to the temp file; rejects (and removes the file) on any error. */
  async write (source: Readable, signal?: AbortSignal): Promise<void> {
    try {
      await pipeline(source, this.#counter, this.file, signal ? { signal } : {})
    } catch (err: unknown) {
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
    try {
      const size = this.#counter.bytes
      const sha256 = this.#digest === undefined ? await hashFile(this.tmpPath, size) : await this.#digest.digest(size)
      const artifact = await this.#store.adopt(this.tmpPath, sha256, size)
      const recorded = await record(artifact)
      await this.#store.adopt(this.tmpPath, sha256, size)
      return recorded
    } finally {
      await this.discard()
    }
  }

  async discard (): Promise<void> {
    this.#discarded = true
    this.#digest?.dispose()
    // The file opens asynchronously: removed before its open completed, it would be created
    // after the removal and stay behind. Closed first, it is there to remove (or never was).
    await new Promise<void>((resolve) => {
      if (this.file.closed) return resolve()
      this.file.once('close', () => resolve())
      this.file.destroy()
    })
    await this.#store.temp.release(this.tmpPath)
  }
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

  /** Moves a finished temp file (whose digest is known) into place; the temp file is left for the caller. */
  async adopt (tmpPath: string, sha256: string, size: number): Promise<StoredArtifact> {
    const target = this.pathOf(sha256)
    await mkdir(path.dirname(target), { recursive: true })
    await chmod(tmpPath, 0o444)
    try {
      await link(tmpPath, target)
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
