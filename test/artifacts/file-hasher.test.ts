import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { open, rm, writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { FileHasher, hashFile } from '../../lib/artifacts/file-hasher'
import { ArtifactStore, SMALL_PART } from '../../lib/artifacts/store'
import { tempDir } from '../support/pulp'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('file hasher', () => {
  const hasher = new FileHasher()
  const followFile = (file: string): ReturnType<FileHasher['follow']> => hasher.follow(file)
  after(async () => { await hasher.close() })

  it('hashes a file as it is written, reading only what the writer reported', async () => {
    const dir = await tempDir()
    try {
      const file = path.join(dir, 'growing')
      // Not a multiple of the worker's step, so the last read is a short one.
      const body = randomBytes(5 * 1024 * 1024 + 12345)
      const fh = await open(file, 'wx+')
      const digest = followFile(file)
      let written = 0
      try {
        while (written < body.length) {
          const piece = body.subarray(written, Math.min(body.length, written + 300_000))
          await fh.write(piece, 0, piece.length, written)
          written += piece.length
          digest.advance(written)
        }
      } finally {
        await fh.close()
      }
      assert.equal(await digest.digest(body.length), sha(body))
      digest.dispose()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('hashes files written at the same time apart', async () => {
    const dir = await tempDir()
    try {
      const bodies = [randomBytes(3 * 1024 * 1024), randomBytes(2 * 1024 * 1024 + 1), Buffer.alloc(0)]
      const results = await Promise.all(bodies.map(async (body, i) => {
        const file = path.join(dir, `f${i}`)
        const fh = await open(file, 'wx+')
        const digest = followFile(file)
        for (let at = 0; at < body.length; at += 1024 * 1024) {
          const piece = body.subarray(at, at + 1024 * 1024)
          await fh.write(piece, 0, piece.length, at)
          digest.advance(at + piece.length)
        }
        await fh.close()
        return await digest.digest(body.length)
      }))
      assert.deepEqual(results, bodies.map(sha))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('rejects when the file holds fewer bytes than its size, naming the shortfall', async () => {
    const dir = await tempDir()
    try {
      const file = path.join(dir, 'short')
      await writeFile(file, Buffer.alloc(1000, 1))
      await assert.rejects(followFile(file).digest(4000), /hashing failed: the file ended at byte 1000 of 4000/)
      await assert.rejects(hashFile(file, 4000), /holds 1000 of 4000 bytes/)
      // A read error seen while following is reported by the digest, not lost.
      const gone = followFile(path.join(dir, 'missing'))
      gone.advance(2 * 1024 * 1024)
      await assert.rejects(gone.digest(2 * 1024 * 1024), /hashing failed: .*ENOENT/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('hashes on the calling thread with hashFile, the fallback', async () => {
    const dir = await tempDir()
    try {
      const file = path.join(dir, 'whole')
      const body = randomBytes(2 * 1024 * 1024 + 7)
      await writeFile(file, body)
      assert.equal(await hashFile(file, body.length), sha(body))
      // Only the first `size` bytes count.
      assert.equal(await hashFile(file, 10), sha(body.subarray(0, 10)))
      assert.equal(await hashFile(file, 0), sha(Buffer.alloc(0)))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('stops the worker once idle, and starts another for the next file', async () => {
    const dir = await tempDir()
    const quick = new FileHasher({ idleMs: 100 })
    const followFile = (file: string): ReturnType<FileHasher['follow']> => quick.follow(file)
    const hashWorkerRunning = (): boolean => quick.running
    try {
      const file = path.join(dir, 'again')
      const body = randomBytes(100_000)
      await writeFile(file, body)
      assert.equal(await followFile(file).digest(body.length), sha(body))
      assert.equal(hashWorkerRunning(), true)
      for (let i = 0; i < 100 && hashWorkerRunning(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
      assert.equal(hashWorkerRunning(), false, 'still running after 2 s idle')
      assert.equal(await followFile(file).digest(body.length), sha(body))
      assert.equal(hashWorkerRunning(), true)
    } finally {
      await quick.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('gives each hasher its own worker: closing one leaves the other hashing off-thread', async () => {
    const dir = await tempDir()
    const a = new FileHasher()
    const b = new FileHasher()
    try {
      const file = path.join(dir, 'shared')
      const body = randomBytes(300_000)
      await writeFile(file, body)
      assert.equal(await a.follow(file).digest(body.length), sha(body))
      assert.equal(a.running, true)
      assert.equal(b.running, false, 'b started no worker of its own yet, and shares none')
      assert.equal(await b.follow(file).digest(body.length), sha(body))
      assert.equal(b.running, true)
      await a.close()
      assert.equal(a.running, false)
      assert.equal(b.running, true, 'closing a stopped b\'s worker')
      assert.equal(await b.follow(file).digest(body.length), sha(body))
      // A closed hasher hashes on the calling thread, still right.
      assert.equal(await a.follow(file).digest(body.length), sha(body))
      assert.equal(a.running, false)
    } finally {
      await a.close()
      await b.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('finishes a digest awaited when its hasher closes, on the calling thread', async () => {
    const dir = await tempDir()
    const closing = new FileHasher()
    try {
      const file = path.join(dir, 'late')
      const body = randomBytes(4 * 1024 * 1024 + 3)
      await writeFile(file, body)
      const digest = closing.follow(file)
      const answer = digest.digest(body.length)
      await closing.close()
      assert.equal(await answer, sha(body))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('gives every artifact store its own hasher, stopped by its close()', async () => {
    const dir = await tempDir()
    const one = new ArtifactStore(dir)
    const two = new ArtifactStore(dir)
    try {
      assert.notEqual(one.hasher, two.hasher)
      await one.init()
      // Past SMALL_PART, in two chunks: a smaller body, or one that has ended by the time it
      // passes SMALL_PART, is hashed in memory without the worker.
      const body = randomBytes(SMALL_PART + 200_000)
      const stored = await one.ingest(Readable.from([body.subarray(0, SMALL_PART + 1), body.subarray(SMALL_PART + 1)]))
      assert.equal(stored.sha256, sha(body))
      assert.equal((one.hasher as FileHasher).running, true)
      assert.equal((two.hasher as FileHasher).running, false)
      await one.close()
      assert.equal((one.hasher as FileHasher).running, false)
    } finally {
      await one.close()
      await two.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
