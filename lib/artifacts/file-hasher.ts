import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Worker } from 'node:worker_threads'
import createDebug from 'debug'

const debug = createDebug('pulp:artifacts:hasher')

/** Bytes read per call while hashing. */
const STEP = 1024 * 1024

/**
 * The worker is told of new bytes on disk at most once per this many. A message costs the
 * sender far more than its size suggests (it wakes the other thread): at one per MiB,
 * postMessage was 16 % of an upload's main-thread time.
 */
const TELL_EVERY = 8 * 1024 * 1024

/** A worker with nothing to hash for this long stops (ms); see `setHashWorkerIdle`. */
let idleMs = 10_000

/**
 * The worker's code, plain CommonJS so it loads the same from `dist/`, from the sources under
 * a TypeScript loader, or from a bundle. It hashes files that are still being written, reading
 * only below the offset the writer reported flushed, in 1 MiB synchronous reads (the worker
 * does nothing else). Messages: `open`, `advance`, `finish`, `drop`, each with the job's id.
 */
const WORKER_SOURCE = `
'use strict'
const { parentPort } = require('node:worker_threads')
const { openSync, readSync, closeSync } = require('node:fs')
const { createHash } = require('node:crypto')
const buffer = Buffer.allocUnsafe(${STEP})
const jobs = new Map()
function readTo (job, end) {
  while (job.pos < end) {
    const n = readSync(job.fd, buffer, 0, Math.min(buffer.length, end - job.pos), job.pos)
    if (n === 0) throw new Error('the file ended at byte ' + job.pos + ' of ' + end)
    job.hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
    job.pos += n
  }
}
function close (job) { if (job.fd !== undefined) try { closeSync(job.fd) } catch {} }
parentPort.on('message', (m) => {
  if (m.op === 'open') {
    const job = { fd: undefined, hash: createHash('sha256'), pos: 0, failed: undefined }
    jobs.set(m.id, job)
    try { job.fd = openSync(m.path, 'r') } catch (err) { job.failed = err }
    return
  }
  const job = jobs.get(m.id)
  if (job === undefined) return
  if (m.op === 'drop') {
    jobs.delete(m.id)
    close(job)
    return
  }
  try {
    if (job.failed === undefined) readTo(job, m.op === 'finish' ? m.size : m.upTo)
  } catch (err) {
    job.failed = err
  }
  if (m.op !== 'finish') return
  jobs.delete(m.id)
  close(job)
  const failed = job.failed
  parentPort.postMessage(failed === undefined
    ? { id: m.id, sha256: job.hash.digest('hex') }
    : { id: m.id, error: String((failed && failed.message) || failed) })
})
`

interface Reply { id: number, sha256?: string, error?: string }

/** The sha256 of a file being written, told how far the writer got. */
export interface FileDigest {
  /** Bytes `[0, flushed)` are on disk (a call may be skipped; later ones cover it). */
  advance: (flushed: number) => void
  /** The file is complete at `size` bytes: its sha256, hex. */
  digest: (size: number) => Promise<string>
  /** Gives up (the download failed); safe after `digest` too. */
  dispose: () => void
}

/**
 * Hashes files off the main thread: one worker for the whole process, started on first use,
 * keeping the process alive only while a digest is awaited, and stopping once idle. While a
 * file is written (an upload), the worker reads behind the writer (the page cache still holds
 * those bytes), so the event loop only moves bytes, and the digest is ready as soon as the
 * last write lands. Where no worker can start, or one died, the file is hashed on the main
 * thread once complete.
 */
class HashWorker {
  #current: Current | undefined
  #broken = false
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (sha256: string) => void, reject: (err: Error) => void, lost: () => void }>()

  follow (path: string): FileDigest {
    const current = this.#spawn()
    if (current === undefined) return afterwards(path)
    const { worker } = current
    const id = this.#nextId++
    worker.postMessage({ op: 'open', id, path })
    current.open++
    clearTimeout(current.idle)
    let told = 0
    let ended = false
    let finished = false
    /** The job is over for the worker (answered or dropped): an idle worker stops after a while. */
    const finish = (): void => {
      if (finished) return
      finished = true
      if (--current.open === 0 && this.#current === current) {
        current.idle = setTimeout(() => this.#stop(current), idleMs).unref()
      }
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
        worker.postMessage({ op: 'advance', id, upTo: flushed })
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
            resolve: (sha256) => { settle(); resolve(sha256) },
            reject: (err) => { settle(); reject(err) },
            lost: () => { settle(); hashFile(path, size).then(resolve, reject) }
          })
          worker.postMessage({ op: 'finish', id, size })
        })
      },
      dispose: () => {
        if (!end()) return
        worker.postMessage({ op: 'drop', id })
        finish()
      }
    }
  }

  /** Whether a worker is running now. */
  get running (): boolean { return this.#current !== undefined }

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
      // It holds one 1 MiB buffer and a hash per job: a small heap keeps its RSS small too.
      worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 } })
    } catch (err: unknown) {
      this.#broken = true
      debug('no hashing worker, hashing on the main thread: %s', (err as Error).message)
      return undefined
    }
    worker.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.id)
      if (waiter === undefined) return
      this.#pending.delete(reply.id)
      if (reply.sha256 !== undefined) waiter.resolve(reply.sha256)
      else waiter.reject(new Error(`hashing failed: ${reply.error ?? 'no reason given'}`))
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

const shared = new HashWorker()

/** Whether the hashing worker is running (it stops once idle for a while). */
export function hashWorkerRunning (): boolean {
  return shared.running
}

/** How long the hashing worker may sit idle before it stops (ms): 10 s unless changed here. */
export function setHashWorkerIdle (ms: number): void {
  idleMs = ms
}

/** Starts hashing `path`, a file its caller is writing from byte 0 on. */
export function followFile (path: string): FileDigest {
  return shared.follow(path)
}
