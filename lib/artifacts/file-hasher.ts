import { extname, join } from 'node:path'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import createDebug from 'debug'
import { STEP, type HashReply, type HashRequest } from './hash-protocol'
import { faultError, makeFileCall, type FileCall } from './file-calls'
import { WriteBatches, type WriteCall } from './write-batch'

const debug = createDebug('pulp:artifacts:hasher')

/**
 * The worker is told of new bytes on disk at most once per this many. A message costs the
 * sender far more than its size suggests (it wakes the other thread): at one per MiB,
 * postMessage was 16 % of an upload's main-thread time.
 */
const TELL_EVERY = 8 * 1024 * 1024

/** A worker with nothing to hash for this long stops, by default (ms). */
const IDLE_MS = 10_000

/**
 * The worker's module, next to this one: hash-worker.js in the build. Run from the
 * TypeScript sources (tests, `tsx`), Node 20 does not pass a TypeScript loader given by
 * `--import` on to a worker's entry, so the worker gets tsx's require hook instead.
 */
const FROM_SOURCES = extname(__filename) === '.ts'
const WORKER_FILE = join(__dirname, `hash-worker${extname(__filename)}`)

/** The sha256 of a file being written, told how far the writer got. */
export interface FileDigest {
  /** Bytes `[0, flushed)` are on disk (a call may be skipped; later ones cover it). */
  advance: (flushed: number) => void
  /** The file is complete at `size` bytes: its sha256, hex. */
  digest: (size: number) => Promise<string>
  /** Gives up (the download failed); safe after `digest` too. */
  dispose: () => void
}

/** Hashes files as they are written; each middleware instance has its own (its artifact store's). */
export interface Hasher {
  /** Starts hashing `path`, a file its caller is writing from byte 0 on. */
  follow: (path: string) => FileDigest
  /** Makes a file call off the calling thread, after those asked for before it. */
  call: (call: FileCall) => Promise<void>
  /** Stops hashing off the calling thread: digests awaited now and later are computed on it. */
  close: () => Promise<void>
}

/**
 * Hashes files off the main thread: one worker per hasher, started on first use,
 * keeping the process alive only while a digest is awaited, and stopping once idle. While a
 * file is written (an upload), the worker reads behind the writer (the page cache still holds
 * those bytes), so the event loop only moves bytes, and the digest is ready as soon as the
 * last write lands. Where no worker can start, or one died, the file is hashed on the main
 * thread once complete.
 */
export class FileHasher implements Hasher {
  readonly #idleMs: number
  #current: Current | undefined
  /** No worker could start here, or close() was called: files are hashed on the calling thread. */
  #broken = false
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (reply: HashReply) => void, reject: (err: Error) => void, lost: () => void }>()
  readonly #writes = new WriteBatches(async (calls) => await this.#writeAll(calls))

  /** `idleMs`: how long a worker with nothing to hash stays (default 10 s). */
  constructor (options: { idleMs?: number } = {}) {
    this.#idleMs = options.idleMs ?? IDLE_MS
  }

  follow (path: string): FileDigest {
    const current = this.#spawn()
    if (current === undefined) return afterwards(path)
    const id = this.#nextId++
    const tell = (request: HashRequest): void => { current.worker.postMessage(request) }
    tell({ op: 'open', id, path })
    current.open++
    clearTimeout(current.idle)
    let told = 0
    let ended = false
    let finished = false
    /** The job is over for the worker (answered or dropped). */
    const finish = (): void => {
      if (finished) return
      finished = true
      this.#release(current)
    }
    const end = (): boolean => {
      if (ended) return false
      ended = true
      return true
    }
    return {
      advance: (flushed) => {
        if (ended || flushed - told < TELL_EVERY) return
        told = flushed
        tell({ op: 'advance', id, upTo: flushed })
      },
      digest: async (size) => {
        if (!end()) throw new Error(`${path}: digest() after the hashing ended`)
        // A worker that died took what it had read with it: the file is read again here.
        if (this.#current !== current) {
          finish()
          return await hashFile(path, size)
        }
        return await new Promise<string>((resolve, reject) => {
          // Held until the answer: nothing else may keep the process alive meanwhile.
          hold(current, 1)
          const settle = (): void => {
            hold(current, -1)
            finish()
          }
          this.#pending.set(id, {
            resolve: (reply) => { settle(); resolve(reply.sha256 ?? '') },
            reject: (err) => { settle(); reject(err) },
            lost: () => { settle(); hashFile(path, size).then(resolve, reject) }
          })
          tell({ op: 'finish', id, size })
        })
      },
      dispose: () => {
        if (!end()) return
        tell({ op: 'drop', id })
        finish()
      }
    }
  }

  async call (call: FileCall): Promise<void> {
    if (call.op === 'write') return await this.#writes.add(call)
    // Calls are made in the order asked: writes gathered before this one go first.
    this.#writes.flush()
    const current = this.#spawn()
    // Without a worker, on this thread: the fallback blocks the loop for a small file's calls.
    if (current === undefined) return makeFileCall(call)
    await this.#request(current, { ...call, id: 0 }, [], () => { makeFileCall(call, true) })
  }

  /** Several small files' writes in one message: their bytes copied into one buffer, which is moved. */
  async #writeAll (calls: WriteCall[]): Promise<Array<Error | undefined>> {
    const each = (again: boolean): Array<Error | undefined> => calls.map((call) => {
      try {
        makeFileCall(call, again)
        return undefined
      } catch (err: unknown) {
        return err as Error
      }
    })
    const current = this.#spawn()
    if (current === undefined) return each(false)
    // A copy either way: a part may be a view of a larger socket chunk, which a move would take whole.
    const bytes = new Uint8Array(calls.reduce((n, c) => n + c.bytes.length, 0))
    const files: Array<{ path: string, end: number }> = []
    let end = 0
    for (const call of calls) {
      bytes.set(call.bytes, end)
      end += call.bytes.length
      files.push({ path: call.path, end })
    }
    let lost: Array<Error | undefined> | undefined
    const reply = await this.#request(current, { op: 'writes', id: 0, files, bytes }, [bytes.buffer], () => { lost = each(true) })
    return lost ?? calls.map((_, i) => {
      const fault = reply?.faults?.[i]
      return fault === undefined || fault === null ? undefined : faultError(fault)
    })
  }

  /**
   * Sends `request` (its id set here) and answers the worker's reply; `again` makes the call on
   * this thread instead when the worker died before answering (it may have made it in part).
   */
  async #request (current: Current, request: HashRequest, transfer: ArrayBuffer[], again: () => void): Promise<HashReply | undefined> {
    const id = this.#nextId++
    current.open++
    clearTimeout(current.idle)
    return await new Promise<HashReply | undefined>((resolve, reject) => {
      hold(current, 1)
      const settle = (): void => {
        hold(current, -1)
        this.#release(current)
      }
      this.#pending.set(id, {
        resolve: (reply) => { settle(); resolve(reply) },
        reject: (err) => { settle(); reject(err) },
        lost: () => {
          settle()
          try {
            again()
            resolve(undefined)
          } catch (err: unknown) {
            reject(err as Error)
          }
        }
      })
      current.worker.postMessage({ ...request, id }, transfer)
    })
  }

  /** A job is over for the worker (answered or dropped): an idle worker stops after a while. */
  #release (current: Current): void {
    if (--current.open === 0 && this.#current === current) {
      current.idle = setTimeout(() => this.#stop(current), this.#idleMs).unref()
    }
  }

  /** Whether a worker is running now. */
  get running (): boolean { return this.#current !== undefined }

  async close (): Promise<void> {
    this.#broken = true
    const current = this.#current
    if (current === undefined) return
    clearTimeout(current.idle)
    // Its exit hands the digests still awaited to the calling thread (see `lost`).
    await current.worker.terminate()
  }

  /** An idle worker goes, and its memory (~10 MB) with it; the next job starts another. */
  #stop (current: Current): void {
    if (this.#current !== current || current.open > 0) return
    this.#current = undefined
    debug('stopping the idle hashing worker')
    current.worker.terminate().catch((err: unknown) => debug('stopping the hashing worker: %s', (err as Error).message))
  }

  #spawn (): Current | undefined {
    if (this.#current !== undefined || this.#broken) return this.#current
    let worker: Worker
    try {
      // A bundle that left the worker's file behind: every start would fail the same way.
      if (!existsSync(WORKER_FILE)) throw new Error(`${WORKER_FILE} is missing`)
      // It holds one 1 MiB buffer and a hash per job: a small heap keeps its RSS small too.
      worker = new Worker(WORKER_FILE, {
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
        // Resolved here, not from the process's working directory, which may be anywhere.
        ...(FROM_SOURCES ? { execArgv: ['--require', require.resolve('tsx/cjs')] } : {})
      })
    } catch (err: unknown) {
      this.#broken = true
      debug('no hashing worker, hashing on the main thread: %s', (err as Error).message)
      return undefined
    }
    worker.on('message', (reply: HashReply) => {
      const waiter = this.#pending.get(reply.id)
      if (waiter === undefined) return
      this.#pending.delete(reply.id)
      if (reply.fault !== undefined) waiter.reject(faultError(reply.fault))
      else if (reply.error !== undefined) waiter.reject(new Error(`hashing failed: ${reply.error}`))
      else waiter.resolve(reply)
    })
    const current: Current = { worker, jobs: 0, open: 0, idle: undefined }
    const lost = (err: Error): void => {
      if (this.#current !== current) return
      this.#current = undefined
      debug('the hashing worker stopped: %s', err.message)
      const waiting = [...this.#pending.values()]
      this.#pending.clear()
      for (const waiter of waiting) waiter.lost()
    }
    worker.on('error', lost)
    worker.on('exit', (code) => lost(new Error(`the hashing worker exited (code ${code})`)))
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref()
    this.#current = current
    return current
  }
}

interface Current {
  worker: Worker
  /** Digests it owes: it keeps the process alive only while it owes some. */
  jobs: number
  /** Files it follows or hashes. */
  open: number
  idle: NodeJS.Timeout | undefined
}

function hold (current: Current, change: 1 | -1): void {
  current.jobs += change
  if (current.jobs === 1 && change === 1) current.worker.ref()
  else if (current.jobs === 0) current.worker.unref()
}

/** The fallback: read the finished file once and hash it here. */
function afterwards (path: string): FileDigest {
  return {
    advance: () => {},
    digest: async (size) => await hashFile(path, size),
    dispose: () => {}
  }
}

/** The sha256 of the first `size` bytes of `path`, on this thread; rejects if the file is shorter. */
export async function hashFile (path: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  let read = 0
  if (size > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: STEP })) {
      hash.update(chunk as Buffer)
      read += (chunk as Buffer).length
    }
  }
  if (read !== size) throw new Error(`${path} holds ${read} of ${size} bytes`)
  return hash.digest('hex')
}
