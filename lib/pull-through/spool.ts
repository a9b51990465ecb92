import { open, type FileHandle } from 'node:fs/promises'
import createDebug from 'debug'

const debug = createDebug('pulp:content:pull-through:spool')

/**
 * Recent bytes kept in memory (on disk or not): readers this close behind the newest byte read
 * them without a syscall, and writes may lag this far behind the network.
 */
export const WINDOW = 2 * 1024 * 1024

/**
 * A temp file being written in arrival order, with the newest bytes also in memory. Writes go
 * out in batches: whatever arrives while one `writev` is on its way goes in the next one, so
 * network and disk overlap. Readers read the file behind the window and memory within it.
 */
export class Spool {
  readonly path: string
  /** Bytes pushed so far. */
  received = 0
  /** Bytes on disk so far. */
  flushed = 0
  /** Writes to the file so far (each a `writev` of what arrived meanwhile). */
  writes = 0
  #fh: FileHandle | undefined
  /** Bytes from `flushed` to `received`, in order. */
  #unflushed: Buffer[] = []
  /** Bytes on disk still kept in memory, ending at `flushed`. */
  #recent: Buffer[] = []
  #recentBytes = 0
  #flushing = false
  #writing: Promise<void> = Promise.resolve()
  #writeError: unknown
  /** Holders of the handle: the writer, then each reader still reading. */
  #refs = 1
  /** The bytes are in a file another instance writes: pushes only advance the counters. */
  #shared = false

  constructor (path: string) {
    this.path = path
  }

  async open (): Promise<void> {
    this.#fh = await open(this.path, 'wx+', 0o644)
  }

  /** Serves reads from `fh`, a file another instance is writing, instead of writing one. */
  useFile (fh: FileHandle): void {
    this.#fh = fh
    this.#shared = true
  }

  /** Where the bytes kept in memory start; a reader before it reads the file. */
  get memoryStart (): number {
    return this.flushed - this.#recentBytes
  }

  /** Appends a chunk and starts writing it; throws a write error of an earlier batch. */
  push (chunk: Buffer): void {
    if (this.#writeError !== undefined) throw this.#writeError
    this.received += chunk.length
    if (this.#shared) {
      this.flushed = this.received
      this.#keep([chunk], chunk.length)
      return
    }
    this.#unflushed.push(chunk)
    if (!this.#flushing) this.#writing = this.#flush()
  }

  /** Resolves once the disk has caught up to within `backlog` bytes of the network. */
  async caughtUp (backlog = WINDOW): Promise<void> {
    if (this.received - this.flushed > backlog) await this.#writing
  }

  /** Waits for every write; throws if one failed. */
  async drain (): Promise<void> {
    await this.#writing
    if (this.#writeError !== undefined) throw this.#writeError
  }

  /** The bytes in memory from `position` (at or past `memoryStart`) up to `limit`. */
  bufferedFrom (position: number, limit: number): Buffer[] {
    const out: Buffer[] = []
    let at = this.memoryStart
    for (const list of [this.#recent, this.#unflushed]) {
      for (const chunk of list) {
        const end = at + chunk.length
        if (end > position && at < limit) {
          const from = Math.max(position - at, 0)
          const to = Math.min(chunk.length, limit - at)
          out.push(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to))
        }
        at = end
        if (at >= limit) return out
      }
    }
    return out
  }

  /** Reads bytes on disk at `position`; answers how many were read (0 once closed). */
  async read (buffer: Buffer, length: number, position: number): Promise<number> {
    if (this.#fh === undefined) return 0
    const { bytesRead } = await this.#fh.read(buffer, 0, length, position)
    return bytesRead
  }

  /** Another holder of the handle (a reader); each calls `release()` once. */
  retain (): void {
    this.#refs++
  }

  release (): void {
    if (--this.#refs > 0) return
    const fh = this.#fh
    this.#fh = undefined
    this.#unflushed = []
    this.#recent = []
    this.#recentBytes = 0
    fh?.close().catch((err: unknown) => debug('closing %s: %s', this.path, (err as Error).message))
  }

  async #flush (): Promise<void> {
    this.#flushing = true
    try {
      while (this.#unflushed.length > 0) {
        const fh = this.#fh
        if (fh === undefined) throw new Error(`${this.path} is not open`)
        const batch = this.#unflushed.slice()
        let bytes = 0
        for (const chunk of batch) bytes += chunk.length
        this.writes++
        const { bytesWritten } = await fh.writev(batch, this.flushed)
        if (bytesWritten !== bytes) throw new Error(`short write to ${this.path} (disk full?)`)
        // These move together, so memory always continues exactly where the file ends.
        this.#unflushed.splice(0, batch.length)
        this.flushed += bytes
        this.#keep(batch, bytes)
      }
    } catch (err: unknown) {
      this.#writeError = err
    } finally {
      this.#flushing = false
    }
  }

  /** Keeps written chunks in memory while they are within the window of the newest byte. */
  #keep (batch: Buffer[], bytes: number): void {
    this.#recent.push(...batch)
    this.#recentBytes += bytes
    let drop = 0
    while (drop < this.#recent.length && this.received - (this.memoryStart + this.#recent[drop].length) >= WINDOW) {
      this.#recentBytes -= this.#recent[drop].length
      drop++
    }
    if (drop > 0) this.#recent.splice(0, drop)
  }
}
