/**
 * The hashing worker's thread (started by file-hasher.ts): hashes files that are still being
 * written, reading only below the offset the writer reported flushed, in 1 MiB synchronous
 * reads, and makes the store's calls for small files (file-calls.ts).
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { createHash, type Hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { STEP, type HashReply, type HashRequest } from './hash-protocol'
import { faultOf, makeFileCall } from './file-calls'

interface Job {
  fd: number | undefined
  hash: Hash
  /** Bytes hashed so far. */
  pos: number
  /** The first error met: reported by `finish`, not thrown at the calling thread before. */
  failed: unknown
}

if (parentPort === null) throw new Error('hash-worker.ts runs as a worker thread only (see file-hasher.ts)')
const port = parentPort
const buffer = Buffer.allocUnsafe(STEP)
const jobs = new Map<number, Job>()

function readTo (job: Job, fd: number, end: number): void {
  while (job.pos < end) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - job.pos), job.pos)
    if (n === 0) throw new Error(`the file ended at byte ${job.pos} of ${end}`)
    job.hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
    job.pos += n
  }
}

function close (job: Job): void {
  if (job.fd === undefined) return
  try {
    closeSync(job.fd)
  } catch {
    // Nothing to do about a descriptor that will not close; the job is over either way.
  }
}

function reasonOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

port.on('message', (m: HashRequest) => {
  if (m.op === 'writes') {
    let start = 0
    const faults = m.files.map(({ path, end }) => {
      const bytes = m.bytes.subarray(start, end)
      start = end
      try {
        makeFileCall({ op: 'write', path, bytes })
        return null
      } catch (err: unknown) {
        return faultOf(err)
      }
    })
    port.postMessage({ id: m.id, faults } satisfies HashReply)
    return
  }
  if (m.op === 'write' || m.op === 'link' || m.op === 'unlink') {
    let reply: HashReply = { id: m.id }
    try {
      makeFileCall(m)
    } catch (err: unknown) {
      reply = { id: m.id, fault: faultOf(err) }
    }
    port.postMessage(reply)
    return
  }
  if (m.op === 'open') {
    const job: Job = { fd: undefined, hash: createHash('sha256'), pos: 0, failed: undefined }
    jobs.set(m.id, job)
    try {
      job.fd = openSync(m.path, 'r')
    } catch (err: unknown) {
      job.failed = err
    }
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
    if (job.failed === undefined && job.fd !== undefined) readTo(job, job.fd, m.op === 'finish' ? m.size : m.upTo)
  } catch (err: unknown) {
    job.failed = err
  }
  if (m.op !== 'finish') return
  jobs.delete(m.id)
  close(job)
  const reply: HashReply = job.failed === undefined ? { id: m.id, sha256: job.hash.digest('hex') } : { id: m.id, error: reasonOf(job.failed) }
  port.postMessage(reply)
})
