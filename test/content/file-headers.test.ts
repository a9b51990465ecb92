import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import request from 'supertest'
import { buildPublication, makeFixture, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

describe('static tree: a published file', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let noCache: ContentServer
  let pub: string
  const hello = 'hello world\n'

  before(async () => {
    fx = await makeFixture()
    pub = await buildPublication(fx.dataDir, '1', {
      'hello.txt': hello,
      'a.json': '{}',
      'pkg/tool.rpm': 'not really an rpm',
      'pkg/noext': 'opaque bytes',
      'empty.txt': ''
    })
    await publish(fx.dataDir, 'http', 'repo', pub)
    srv = await startContentServer(fx.dataDir)
    noCache = await startContentServer(fx.dataDir, { cacheControl: false })
  })
  after(async () => {
    await srv.close()
    await noCache.close()
    await fx.cleanup()
  })

  it('answers 200 with the bytes and every header', async () => {
    const res = await request(srv.app).get('/content/repo/hello.txt').buffer(true)
    assert.equal(res.status, 200)
    assert.equal(res.text, hello)
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(hello)))
    assert.equal(res.headers['accept-ranges'], 'bytes')
    assert.equal(res.headers['cache-control'], 'public, max-age=0, must-revalidate')
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    const artifact = await stat(path.join(pub, 'hello.txt'))
    assert.equal(res.headers['last-modified'], new Date(Math.floor(artifact.mtimeMs / 1000) * 1000).toUTCString())
  })

  it('gives an artifact-backed file the strong ETag "<sha256>"', async () => {
    const res = await request(srv.app).get('/content/repo/hello.txt')
    assert.equal(res.headers.etag, `"${sha256(hello)}"`)
  })

  it('gives a regular file of the publication a weak ETag', async () => {
    const res = await request(srv.app).get('/content/repo/PULP_MANIFEST').responseType('blob')
    assert.equal(res.status, 200)
    assert.match(res.headers.etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/)
    assert.match(String(res.body), /^hello\.txt,[0-9a-f]{64},12$/m)
  })

  it('takes the type from the requested name, not the artifact file', async () => {
    const rpm = await request(srv.app).get('/content/repo/pkg/tool.rpm')
    assert.equal(rpm.headers['content-type'], 'application/x-redhat-package-manager')
    const json = await request(srv.app).get('/content/repo/a.json')
    assert.equal(json.headers['content-type'], 'application/json; charset=utf-8')
    const plain = await request(srv.app).get('/content/repo/pkg/noext').responseType('blob')
    assert.equal(plain.headers['content-type'], 'application/octet-stream')
  })

  it('serves an empty file', async () => {
    const res = await request(srv.app).get('/content/repo/empty.txt')
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-length'], '0')
    assert.equal(res.text, '')
  })

  it('leaves Cache-Control out when the option is false', async () => {
    const res = await request(noCache.app).get('/content/repo/hello.txt')
    assert.equal(res.status, 200)
    assert.equal(res.headers['cache-control'], undefined)
  })

  it('falls through to the next layer for a path that is not published', async () => {
    const res = await request(srv.app).get('/content/repo/missing.txt')
    assert.equal(res.status, 404)
    assert.deepEqual(res.body, { error: { code: 'ERR_PULP_NOT_FOUND', message: 'not found' } })
  })

  it('does not serve a file asked for as a directory', async () => {
    const res = await request(srv.app).get('/content/repo/hello.txt/')
    assert.equal(res.status, 404)
  })
})

describe('HEAD', () => {
  let fx: ContentFixture
  let srv: ContentServer

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'repo', await buildPublication(fx.dataDir, '1', { 'a.json': '{"a":1}' }))
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  it('answers the same headers as GET and no body', async () => {
    const get = await request(srv.app).get('/content/repo/a.json')
    const head = await request(srv.app).head('/content/repo/a.json')
    assert.equal(head.status, 200)
    for (const name of ['content-type', 'content-length', 'last-modified', 'etag', 'accept-ranges', 'cache-control']) {
      assert.equal(head.headers[name], get.headers[name], name)
    }
    assert.equal(head.text, undefined)
  })

  it('ignores Range, which RFC 9110 defines for GET only', async () => {
    const head = await request(srv.app).head('/content/repo/a.json').set('Range', 'bytes=0-1')
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-length'], '7')
  })
})

describe('methods other than GET and HEAD', () => {
  let fx: ContentFixture
  let srv: ContentServer

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'repo', await buildPublication(fx.dataDir, '1', { 'a.txt': 'a' }))
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  for (const method of ['post', 'put', 'delete', 'patch', 'options'] as const) {
    it(`answers ${method.toUpperCase()} with 405 and Allow: GET, HEAD`, async () => {
      const res = await request(srv.app)[method]('/content/repo/a.txt')
      assert.equal(res.status, 405)
      assert.equal(res.headers.allow, 'GET, HEAD')
      assert.equal(res.body.error.code, 'ERR_PULP_METHOD_NOT_ALLOWED')
    })
  }
})
