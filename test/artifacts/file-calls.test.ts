import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { FileHasher } from '../../lib/artifacts/file-hasher'
import { faultError, faultOf, makeFileCall } from '../../lib/artifacts/file-calls'
import { tempDir } from '../support/pulp'

describe('file calls for small files', () => {
  for (const where of ['the hashing worker', 'the calling thread'] as const) {
    it(`writes read-only, links into a missing directory, keeps an existing target, removes (on ${where})`, async () => {
      const dir = await tempDir()
      const hasher = new FileHasher()
      if (where === 'the calling thread') await hasher.close()
      try {
        const tmp = path.join(dir, 'a.part')
        // A view into a larger buffer: only its own bytes may land in the file.
        const backing = Buffer.from('xxhelloyy')
        await hasher.call({ op: 'write', path: tmp, bytes: backing.subarray(2, 7) })
        assert.equal(await readFile(tmp, 'utf8'), 'hello')
        assert.equal((await stat(tmp)).mode & 0o777, 0o444)
        await assert.rejects(hasher.call({ op: 'write', path: tmp, bytes: Buffer.from('again') }), { code: 'EEXIST', syscall: 'open', path: tmp })

        const target = path.join(dir, 'artifacts', 'ab', 'cdef')
        const kept = path.join(dir, 'kept')
        await writeFile(kept, 'first')
        await hasher.call({ op: 'link', pairs: [[tmp, target], [tmp, kept]] })
        assert.equal((await stat(target)).ino, (await stat(tmp)).ino)
        assert.equal(await readFile(kept, 'utf8'), 'first')
        await assert.rejects(hasher.call({ op: 'link', pairs: [[path.join(dir, 'gone'), path.join(dir, 'x')]] }), { code: 'ENOENT' })

        await hasher.call({ op: 'unlink', paths: [tmp, path.join(dir, 'never-there')] })
        await assert.rejects(stat(tmp), { code: 'ENOENT' })
        assert.equal(await readFile(target, 'utf8'), 'hello')
      } finally {
        await hasher.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  }

  it('writes again what an interrupted attempt left, when told it may have been made', async () => {
    const dir = await tempDir()
    try {
      const tmp = path.join(dir, 'b.part')
      makeFileCall({ op: 'write', path: tmp, bytes: Buffer.from('half') })
      makeFileCall({ op: 'write', path: tmp, bytes: Buffer.from('whole') }, true)
      assert.equal(await readFile(tmp, 'utf8'), 'whole')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('rebuilds an error with its code, call and path', async () => {
    const dir = await tempDir()
    try {
      await mkdir(path.join(dir, 'd'))
      let caught: unknown
      try {
        makeFileCall({ op: 'unlink', paths: [path.join(dir, 'd')] })
      } catch (err: unknown) {
        caught = err
      }
      const rebuilt = faultError(faultOf(caught)) as NodeJS.ErrnoException
      assert.equal(rebuilt.code, (caught as NodeJS.ErrnoException).code)
      assert.equal(rebuilt.syscall, 'unlink')
      assert.equal(rebuilt.path, path.join(dir, 'd'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  for (const where of ['the hashing worker', 'the calling thread'] as const) {
    it(`writes asked for together each settle on their own, and a later call comes after them (on ${where})`, async () => {
      const dir = await tempDir()
      const hasher = new FileHasher()
      if (where === 'the calling thread') await hasher.close()
      try {
        const taken = path.join(dir, 'taken')
        await writeFile(taken, 'first')
        const names = ['a', 'b', 'c'].map((n) => path.join(dir, n))
        // Asked for in one turn: they go to the worker as one batch, the middle one refused.
        const writes = [
          hasher.call({ op: 'write', path: names[0], bytes: Buffer.from('aa') }),
          hasher.call({ op: 'write', path: taken, bytes: Buffer.from('no') }),
          hasher.call({ op: 'write', path: names[1], bytes: Buffer.from('bbb') })
        ]
        // Not awaited first: the link must still find the file written.
        const linked = hasher.call({ op: 'link', pairs: [[names[1], names[2]]] })
        const results = await Promise.allSettled([...writes, linked])
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
        assert.equal(((results[1] as PromiseRejectedResult).reason as NodeJS.ErrnoException).code, 'EEXIST')
        assert.equal(await readFile(names[0], 'utf8'), 'aa')
        assert.equal(await readFile(taken, 'utf8'), 'first')
        assert.equal(await readFile(names[2], 'utf8'), 'bbb')
      } finally {
        await hasher.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
