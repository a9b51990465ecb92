import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, symlink } from 'node:fs/promises'
import path from 'node:path'
import { rawRequest } from '../support/content-http'
import { buildPublication, makeFixture, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

const PAGE = '<!DOCTYPE html><title>foo</title><a href="foo-1.0.tar.gz#sha256=00">foo-1.0.tar.gz</a>\n'

describe('directory index files', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let ordered: ContentServer
  let off: ContentServer
  let noListings: ContentServer

  before(async () => {
    fx = await makeFixture()
    const pub = await buildPublication(fx.dataDir, '1', {
      'simple/foo/index.html': PAGE,
      'simple/foo/foo-1.0.tar.gz': 'tarball',
      'simple/bar/bar-1.0.tar.gz': 'bar',
      'both/index.htm': 'htm',
      'both/index.html': 'html'
    })
    // Not followed: an index.html that is a directory, and one that links outside the roots.
    await mkdir(path.join(pub, 'dir-named-index', 'index.html'), { recursive: true })
    await mkdir(path.join(pub, 'escape'))
    await symlink(fx.secretPath, path.join(pub, 'escape', 'index.html'))
    await publish(fx.dataDir, 'http', 'pypi', pub)
    srv = await startContentServer(fx.dataDir, { index: ['index.html'] })
    ordered = await startContentServer(fx.dataDir, { index: ['index.htm', 'index.html'] })
    off = await startContentServer(fx.dataDir, { index: [] })
    noListings = await startContentServer(fx.dataDir, { index: ['index.html'], indexes: false })
  })
  after(async () => {
    for (const s of [srv, ordered, off, noListings]) await s.close()
    await fx.cleanup()
  })

  it('serves a directory\'s index.html with the file\'s own headers', async () => {
    const res = await rawRequest(srv.port, '/content/pypi/simple/foo/')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), PAGE)
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(res.headers.etag, `"${sha256(PAGE)}"`)
    assert.equal(res.headers['accept-ranges'], 'bytes')
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(PAGE)))
    assert.ok(res.headers['last-modified'])
  })

  it('answers conditionals and ranges on it as on the file', async () => {
    const etag = `"${sha256(PAGE)}"`
    const notModified = await rawRequest(srv.port, '/content/pypi/simple/foo/', { headers: { 'if-none-match': etag } })
    assert.equal(notModified.status, 304)
    assert.equal(notModified.body.length, 0)
    const part = await rawRequest(srv.port, '/content/pypi/simple/foo/', { headers: { range: 'bytes=0-14' } })
    assert.equal(part.status, 206)
    assert.equal(part.body.toString(), PAGE.slice(0, 15))
    assert.equal(part.headers['content-range'], `bytes 0-14/${Buffer.byteLength(PAGE)}`)
    const head = await rawRequest(srv.port, '/content/pypi/simple/foo/', { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.headers.etag, etag)
  })

  it('still redirects the directory without its slash, and a dot segment names it', async () => {
    const res = await rawRequest(srv.port, '/content/pypi/simple/foo')
    assert.equal(res.status, 301)
    assert.equal(res.headers.location, '/content/pypi/simple/foo/')
    const dot = await rawRequest(srv.port, '/content/pypi/simple/foo/.')
    assert.equal(dot.status, 200)
    assert.equal(dot.body.toString(), PAGE)
  })

  it('keeps listings for directories without one, and for an index.html that is a directory', async () => {
    for (const target of ['/content/pypi/simple/bar/', '/content/pypi/dir-named-index/', '/content/pypi/simple/']) {
      const res = await rawRequest(srv.port, target)
      assert.equal(res.status, 200, target)
      assert.match(res.body.toString(), /<title>Index of /, target)
    }
  })

  it('does not follow an index.html that links outside the roots', async () => {
    const res = await rawRequest(srv.port, '/content/pypi/escape/')
    assert.equal(res.status, 200)
    assert.ok(!res.body.toString().includes(fx.secret))
    assert.match(res.body.toString(), /<title>Index of /)
  })

  it('tries the names in the order given', async () => {
    assert.equal((await rawRequest(ordered.port, '/content/pypi/both/')).body.toString(), 'htm')
    assert.equal((await rawRequest(srv.port, '/content/pypi/both/')).body.toString(), 'html')
  })

  it('lists every directory when turned off', async () => {
    const res = await rawRequest(off.port, '/content/pypi/simple/foo/')
    assert.equal(res.status, 200)
    assert.match(res.body.toString(), /<title>Index of /)
    assert.match(res.body.toString(), /index\.html/)
  })

  it('serves index files even where listings are off', async () => {
    assert.equal((await rawRequest(noListings.port, '/content/pypi/simple/foo/')).body.toString(), PAGE)
    assert.equal((await rawRequest(noListings.port, '/content/pypi/simple/bar/')).status, 404)
  })

  it('sent nothing to the error handler', () => {
    for (const s of [srv, ordered, off, noListings]) assert.deepEqual(s.errors, [])
  })
})
