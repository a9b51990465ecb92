import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { ArtifactStore, SMALL_PART } from '../../lib/artifacts/store'
import { PayloadTooLargeError } from '../../lib/errors'
import { tempDir } from '../support/pulp'

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** A stream of `chunks` pieces of `size` bytes, produced lazily. */
function chunks (count: number, size: number, fill = 7): Readable {
  let i = 0
  return new Readable({
    read () { this.push(i++ < count ? Buffer.alloc(size, fill) : null) }
  })
}

describe('artifact store', () => {
  it('stores bytes under artifacts/<sha[0:2]>/<sha[2:]> and returns their digest', async () => {
    const dir = await tempDir()
    try {
      const store = new ArtifactStore(dir)
      const a = await store.ingest(Readable.from([Buffer.from('hello ')]))
      assert.equal(a.sha256, sha('hello '))
      assert.equal(a.size, 6)
      assert.equal(a.path, path.join(dir, 'artifacts', a.sha256.slice(0, 2), a.sha256.slice(2)))
      assert.equal(await readFile(a.path, 'utf8'), 'hello ')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  // Small sources are hashed in memory, larger ones stream; each shape around SMALL_PART must
  // keep every byte (a last chunk that crosses it once lost the whole body).
  for (const [name, parts] of [
    ['one chunk below SMALL_PART', [SMALL_PART - 1]],
    ['exactly SMALL_PART', [SMALL_PART]],
    ['a last chunk that crosses SMALL_PART', [SMALL_PART - 10, 1000]],
    ['one chunk past SMALL_PART', [SMALL_PART + 1]],
    ['a first chunk past SMALL_PART, then more', [SMALL_PART + 1, 5000, 70_000]],
    ['many small chunks past SMALL_PART', Array.from({ length: 40 }, () => 16 * 1024)]
  ] as const) {
    it(`stores every byte of ${name}`, async () => {
      const dir = await tempDir()
      try {
        const body = Buffer.alloc(parts.reduce((n: number, p: number) => n + p, 0))
        for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 9)) & 0xff
        let at = 0
        const pieces = parts.map((n: number) => body.subarray(at, at += n))
        const store = new ArtifactStore(dir)
        try {
          const a = await store.ingest(Readable.from(pieces))
          assert.equal(a.size, body.length)
          assert.equal(a.sha256, sha(body))
          assert.ok((await readFile(a.path)).equals(body))
          assert.deepEqual(await readdir(path.join(dir, 'tmp')), [])
        } finally {
          await store.close()
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }

  it('writes an artifact read-only, so nothing modifies it afterwards', async () => {
    const dir = await tempDir()
    try {
      const a = await new ArtifactStore(dir).ingest(Readable.from([Buffer.from('x')]))
      assert.equal((await stat(a.path)).mode & 0o222, 0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('keeps one file for the same bytes twice, even when written at once', async () => {
    const dir = await tempDir()
    try {
      const store = new ArtifactStore(dir)
      const results = await Promise.all(Array.from({ length: 8 }, async () => await store.ingest(chunks(64, 16 * 1024))))
      assert.equal(new Set(results.map((r) => r.sha256)).size, 1)
      const shard = await readdir(path.join(dir, 'artifacts', results[0].sha256.slice(0, 2)))
      assert.deepEqual(shard, [results[0].sha256.slice(2)])
      assert.equal((await stat(results[0].path)).size, 64 * 16 * 1024)
      assert.deepEqual(await readdir(path.join(dir, 'tmp')), [], 'temp files are all gone')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses more than the limit and leaves no temp file', async () => {
    const dir = await tempDir()
    try {
      const store = new ArtifactStore(dir)
      await assert.rejects(store.ingest(chunks(10, 1024), { limit: 5000 }), PayloadTooLargeError)
      assert.deepEqual(await readdir(path.join(dir, 'tmp')), [])
      assert.deepEqual(await readdir(path.join(dir, 'artifacts')), [])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('leaves no temp file when the source fails mid-stream', async () => {
    const dir = await tempDir()
    try {
      const store = new ArtifactStore(dir)
      let n = 0
      const failing = new Readable({
        read () { if (n++ < 3) this.push(Buffer.alloc(1000)); else this.destroy(new Error('connection reset')) }
      })
      await assert.rejects(store.ingest(failing), /connection reset/)
      assert.deepEqual(await readdir(path.join(dir, 'tmp')), [])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('rejects a path for something that is not a sha256', () => {
    const store = new ArtifactStore('/tmp/x')
    assert.throws(() => store.pathOf('../../etc/passwd'), /not a sha256/)
  })
})
