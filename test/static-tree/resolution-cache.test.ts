import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import request from 'supertest'
import { ResolutionCache, type FileResolution } from '../../lib/static-tree/resolution-cache'
import { addArtifact, buildPublication, makeFixture, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

// The static tree remembers how request paths resolved. Each of these asks for a path once
// (so it is remembered), changes the tree the way a publish, an unpublish or an intruder
// would, and asks again: the answer must follow the disk at once.
describe('remembered resolutions of the static tree', () => {
  let fx: ContentFixture
  let srv: ContentServer

  before(async () => {
    fx = await makeFixture()
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  const get = async (target: string): Promise<request.Response> => await request(srv.app).get(target).buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => cb(null, Buffer.concat(chunks)))
  })
  const text = async (target: string): Promise<string> => {
    const res = await get(target)
    assert.equal(res.status, 200, target)
    return (res.body as Buffer).toString()
  }
  /** Asks twice: a path is remembered from its second request on. */
  const served = async (target: string): Promise<string> => {
    await text(target)
    return await text(target)
  }
  const missing = async (target: string): Promise<void> => {
    for (let i = 0; i < 2; i++) assert.equal((await get(target)).status, 404, target)
  }

  it('serves the new publication as soon as the link is swapped', async () => {
    await publish(fx.dataDir, 'http', 'swap', await buildPublication(fx.dataDir, '1', { 'a.txt': 'first', 'dir/b.txt': 'first b' }, { repo: 'swap' }))
    assert.equal(await served('/content/swap/a.txt'), 'first')
    assert.equal(await served('/content/swap/dir/b.txt'), 'first b')
    await publish(fx.dataDir, 'http', 'swap', await buildPublication(fx.dataDir, '2', { 'a.txt': 'second', 'dir/b.txt': 'second b' }, { repo: 'swap' }))
    const res = await get('/content/swap/a.txt')
    assert.equal((res.body as Buffer).toString(), 'second')
    assert.equal(res.headers.etag, `"${sha256('second')}"`)
    assert.equal(await text('/content/swap/dir/b.txt'), 'second b')
  })

  it('follows a swap for a file of the publication itself (its manifest)', async () => {
    await publish(fx.dataDir, 'http', 'manifest', await buildPublication(fx.dataDir, '1', { 'one.txt': '1' }, { repo: 'manifest' }))
    assert.match(await served('/content/manifest/PULP_MANIFEST'), /^one\.txt,/)
    await publish(fx.dataDir, 'http', 'manifest', await buildPublication(fx.dataDir, '2', { 'two.txt': '2' }, { repo: 'manifest' }))
    assert.match(await text('/content/manifest/PULP_MANIFEST'), /^two\.txt,/)
  })

  it('answers 404 once the publication is unpublished', async () => {
    await publish(fx.dataDir, 'http', 'gone', await buildPublication(fx.dataDir, '1', { 'a.txt': 'here' }, { repo: 'gone' }))
    assert.equal(await served('/content/gone/a.txt'), 'here')
    await unlink(path.join(fx.dataDir, 'publish', 'http', 'gone'))
    assert.equal((await get('/content/gone/a.txt')).status, 404)
  })

  it('serves a path that was missing as soon as it is published', async () => {
    await missing('/content/later/a.txt')
    await missing('/content/nested/later/a.txt')
    await publish(fx.dataDir, 'http', 'later', await buildPublication(fx.dataDir, '1', { 'a.txt': 'late' }, { repo: 'later' }))
    await publish(fx.dataDir, 'http', 'nested/later', await buildPublication(fx.dataDir, '1', { 'a.txt': 'late, nested' }, { repo: 'nested-later' }))
    assert.equal(await text('/content/later/a.txt'), 'late')
    assert.equal(await text('/content/nested/later/a.txt'), 'late, nested')
  })

  it('serves a path under a prefix known missing as soon as that prefix is published', async () => {
    // Two misses under one first segment make it a known-missing prefix; a third, new path
    // is then answered from it without being resolved, and asked again, remembered under the
    // prefix's guard (as a pull-through distribution's paths are, each asked many times).
    await missing('/content/mirror/one.bin')
    await missing('/content/mirror/two.bin')
    assert.equal((await get('/content/mirror/three.bin')).status, 404)
    await missing('/content/mirror/three.bin')
    await missing('/content/deep/mirror/x/one.bin')
    await missing('/content/deep/mirror/x/two.bin')
    await missing('/content/deep/mirror/x/four.bin')
    await publish(fx.dataDir, 'http', 'mirror', await buildPublication(fx.dataDir, '1', { 'three.bin': 'now here' }, { repo: 'mirror' }))
    await publish(fx.dataDir, 'http', 'deep/mirror', await buildPublication(fx.dataDir, '1', { 'x/four.bin': 'deep, now here' }, { repo: 'deep-mirror' }))
    assert.equal(await text('/content/mirror/three.bin'), 'now here')
    assert.equal(await text('/content/deep/mirror/x/four.bin'), 'deep, now here')
    assert.equal((await get('/content/deep/mirror/x/one.bin')).status, 404)
  })

  it('refuses a link that was retargeted outside the roots after its files were served', async () => {
    await publish(fx.dataDir, 'http', 'moved', await buildPublication(fx.dataDir, '1', { 'a.txt': 'inside' }, { repo: 'moved' }))
    assert.equal(await served('/content/moved/a.txt'), 'inside')
    const outside = path.join(fx.root, 'outside')
    await mkdir(outside, { recursive: true })
    await writeFile(path.join(outside, 'a.txt'), fx.secret)
    await publish(fx.dataDir, 'http', 'moved', outside)
    const res = await get('/content/moved/a.txt')
    assert.equal(res.status, 404)
    assert.ok(!(res.body as Buffer).toString().includes(fx.secret), 'the secret leaked')
  })

  it('answers 404 while the artifact behind a served file is gone, and serves it once it is back', async () => {
    await publish(fx.dataDir, 'http', 'store', await buildPublication(fx.dataDir, '1', { 'a.txt': 'stored bytes' }, { repo: 'store' }))
    assert.equal(await served('/content/store/a.txt'), 'stored bytes')
    const digest = sha256('stored bytes')
    await rm(path.join(fx.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2)))
    await missing('/content/store/a.txt')
    await addArtifact(fx.dataDir, 'stored bytes')
    assert.equal(await text('/content/store/a.txt'), 'stored bytes')
  })

  it('follows a swap of another publication that a file links through', async () => {
    await publish(fx.dataDir, 'http', 'target', await buildPublication(fx.dataDir, '1', { 'x.txt': 'target one' }, { repo: 'target' }))
    const via = await buildPublication(fx.dataDir, '1', {}, { repo: 'via' })
    await symlink(path.join(fx.dataDir, 'publish', 'http', 'target', 'x.txt'), path.join(via, 'x.txt'))
    await publish(fx.dataDir, 'http', 'via', via)
    assert.equal(await served('/content/via/x.txt'), 'target one')
    await publish(fx.dataDir, 'http', 'target', await buildPublication(fx.dataDir, '2', { 'x.txt': 'target two' }, { repo: 'target' }))
    assert.equal(await text('/content/via/x.txt'), 'target two')
  })

  it('serves a small artifact rewritten in place (same inode, same size) with its new bytes', async () => {
    await publish(fx.dataDir, 'http', 'inplace', await buildPublication(fx.dataDir, '1', { 'a.txt': 'first bytes' }, { repo: 'inplace' }))
    // Remembered on the second request, its bytes kept then, sent from memory on the third.
    assert.equal(await served('/content/inplace/a.txt'), 'first bytes')
    assert.equal(await text('/content/inplace/a.txt'), 'first bytes')
    const digest = sha256('first bytes')
    await writeFile(path.join(fx.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2)), 'other bytes')
    assert.equal(await text('/content/inplace/a.txt'), 'other bytes')
  })

  it('serves changes to plain files placed in the tree without a link', async () => {
    await mkdir(path.join(fx.dataDir, 'publish', 'http', 'plain'), { recursive: true })
    await writeFile(path.join(fx.dataDir, 'publish', 'http', 'plain', 'a.txt'), 'before')
    assert.equal(await served('/content/plain/a.txt'), 'before')
    await writeFile(path.join(fx.dataDir, 'publish', 'http', 'plain', 'a.txt'), 'after, longer')
    assert.equal(await text('/content/plain/a.txt'), 'after, longer')
  })

  it('never ends in an error', () => {
    assert.deepEqual(srv.errors, [])
  })
})

describe('ResolutionCache', () => {
  it('admits a path the second time it is asked for', () => {
    const cache = new ResolutionCache()
    assert.equal(cache.admit('a'), false)
    assert.equal(cache.admit('b'), false)
    assert.equal(cache.admit('a'), true)
  })

  it('keeps at most its limit of entries, dropping the oldest', () => {
    const cache = new ResolutionCache(2)
    for (const name of ['a', 'b', 'c']) cache.set(name, { kind: 'absent', guard: { absent: `/nonexistent/pulp-test/${name}` } })
    assert.equal(cache.size, 2)
    assert.equal(cache.get('a'), undefined)
    assert.notEqual(cache.get('c'), undefined)
  })

  describe('bodies of small files', () => {
    let dir: string
    before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'pulp-kept-')) })
    after(async () => { await rm(dir, { recursive: true, force: true }) })

    const entryFor = async (cache: ResolutionCache, file: string, body: Buffer, verified = true): Promise<FileResolution> => {
      await writeFile(file, body)
      const entry = cache.fileEntry(file, await stat(file), { absent: path.join(dir, 'never') })
      entry.file.verified = verified
      return entry
    }

    it('keeps the bytes read from a checked file, and drops them once the file changes', async () => {
      const cache = new ResolutionCache()
      const file = path.join(dir, 'a')
      const entry = await entryFor(cache, file, Buffer.from('kept bytes'))
      cache.set('a', entry)
      const memo = entry.file.memo()
      assert.equal(memo?.body, undefined)
      memo?.keep(Buffer.from('kept bytes'))
      assert.equal(cache.keptBytes, 10)
      assert.equal(entry.file.memo()?.body?.toString(), 'kept bytes')
      // Same size, new bytes: the modification and change times say so.
      await writeFile(file, 'new  bytes')
      assert.equal(entry.file.memo()?.body, undefined)
      assert.equal(cache.keptBytes, 0)
    })

    it('keeps nothing for an entry whose first open was not checked, nor for one no longer cached', async () => {
      const cache = new ResolutionCache()
      const unchecked = await entryFor(cache, path.join(dir, 'b'), Buffer.from('bytes'), false)
      cache.set('b', unchecked)
      unchecked.file.memo()?.keep(Buffer.from('bytes'))
      assert.equal(cache.keptBytes, 0)
      // Replaced by another entry for the same path: the first one keeps nothing any more.
      const replaced = await entryFor(cache, path.join(dir, 'b'), Buffer.from('bytes'))
      cache.set('b', replaced)
      cache.set('b', await entryFor(cache, path.join(dir, 'b'), Buffer.from('bytes')))
      replaced.file.memo()?.keep(Buffer.from('bytes'))
      assert.equal(cache.keptBytes, 0)
    })

    it('gives the bytes back when the entry goes, and never keeps a large file', async () => {
      const cache = new ResolutionCache(1)
      const entry = await entryFor(cache, path.join(dir, 'c'), Buffer.from('c bytes'))
      cache.set('c', entry)
      entry.file.memo()?.keep(Buffer.from('c bytes'))
      assert.equal(cache.keptBytes, 7)
      cache.set('d', { kind: 'absent', guard: { absent: path.join(dir, 'never') } })
      assert.equal(cache.keptBytes, 0)
      const large = await entryFor(cache, path.join(dir, 'e'), Buffer.alloc(64 * 1024))
      cache.set('e', large)
      assert.equal(large.file.memo(), undefined)
    })
  })

  it('drops an entry whose guard no longer holds', () => {
    const cache = new ResolutionCache()
    cache.set('root', { kind: 'absent', guard: { absent: '/' } })
    assert.equal(cache.get('root'), undefined)
    assert.equal(cache.size, 0)
  })

  it('answers a second use in the same turn from the first one\'s check', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pulp-turn-'))
    try {
      const cache = new ResolutionCache()
      const missing = path.join(dir, 'later')
      cache.set('p', { kind: 'absent', guard: { absent: missing } })
      assert.notEqual(cache.get('p'), undefined)
      writeFileSync(missing, 'x')
      assert.notEqual(cache.get('p'), undefined, 'same turn: the first check holds')
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(cache.get('p'), undefined, 'next turn: the file is seen')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
