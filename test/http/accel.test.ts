import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { closeSync, openSync } from 'node:fs'
import { realpath, symlink, writeFile } from 'node:fs/promises'
import { get, type IncomingHttpHeaders } from 'node:http'
import path from 'node:path'
import request from 'supertest'
import { FrontServer } from '../../lib/http/accel'
import { resolveOptions } from '../../lib/options'
import { buildPublication, makeFixture, patternBytes, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

const BIG = patternBytes(3 * 1024 * 1024, 5)
const SMALL = 'a small file, sent by the middleware\n'
const NAME = 'we ird?%é.iso'

function accel (dataDir: string, header: 'X-Accel-Redirect' | 'X-Sendfile', prefix: string): FrontServer {
  const { accel } = resolveOptions({ dataDir, accel: { header, prefix } })
  assert.ok(accel !== false)
  return new FrontServer(accel, dataDir)
}

describe('accel: large static files go to the front server', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let sendfile: ContentServer
  let artifact: string

  before(async () => {
    fx = await makeFixture()
    const pub = await buildPublication(fx.dataDir, '1', { 'big.iso': BIG, 'small.txt': SMALL, [NAME]: BIG })
    await writeFile(path.join(pub, 'plain.bin'), BIG)
    await symlink(fx.secretPath, path.join(pub, 'secret'))
    await writeFile(path.join(fx.root, 'big-outside.bin'), BIG)
    await symlink(path.join(fx.root, 'big-outside.bin'), path.join(pub, 'escape.bin'))
    await publish(fx.dataDir, 'http', 'repo', pub)
    artifact = `artifacts/${sha256(BIG).slice(0, 2)}/${sha256(BIG).slice(2)}`
    srv = await startContentServer(fx.dataDir, { accel: accel(fx.dataDir, 'X-Accel-Redirect', '/_pulp_files') })
    sendfile = await startContentServer(fx.dataDir, { accel: accel(fx.dataDir, 'X-Sendfile', '/srv/pulp%20data') })
  })
  after(async () => {
    await srv.close()
    await sendfile.close()
    await fx.cleanup()
  })

  it('answers the computed headers and the redirect to the real file, no body', async () => {
    const res = await rawGet(srv, '/content/repo/big.iso')
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-accel-redirect'], `/_pulp_files/${artifact}`)
    assert.equal(res.headers.etag, `"${sha256(BIG)}"`)
    assert.equal(res.headers['content-length'], String(BIG.length))
    assert.equal(res.headers['content-type'], 'application/x-iso9660-image')
    assert.equal(res.headers['cache-control'], 'public, max-age=0, must-revalidate')
    assert.ok(res.headers['last-modified'] !== undefined)
    assert.equal(res.headers.connection, 'close')
    assert.equal(res.headers['accept-ranges'], undefined, 'the front server adds its own')
    assert.equal(res.received, 0)
  })

  it('percent-encodes each segment of the real path', async () => {
    const res = await rawHead(srv, '/content/repo/plain.bin')
    const real = path.relative(await realpath(fx.dataDir), await realpath(path.join(fx.dataDir, 'publish', 'http', 'repo', 'plain.bin')))
    assert.equal(res['x-accel-redirect'], '/_pulp_files/' + real.split(path.sep).map(encodeURIComponent).join('/'))
  })

  it('names the file under the X-Sendfile prefix for mod_xsendfile', async () => {
    const res = await rawHead(sendfile, '/content/repo/big.iso')
    assert.equal(res['x-sendfile'], `/srv/pulp%20data/${artifact}`)
  })

  it('sends a file below minSize itself', async () => {
    const res = await request(srv.origin).get('/content/repo/small.txt')
    assert.equal(res.status, 200)
    assert.equal(res.text, SMALL)
    assert.equal(res.headers['x-accel-redirect'], undefined)
  })

  it('still answers 304 and 412 itself', async () => {
    const etag = `"${sha256(BIG)}"`
    const notModified = await request(srv.origin).get('/content/repo/big.iso').set('If-None-Match', etag)
    assert.equal(notModified.status, 304)
    assert.equal(notModified.headers['x-accel-redirect'], undefined)
    const failed = await request(srv.origin).get('/content/repo/big.iso').set('If-Match', '"other"')
    assert.equal(failed.status, 412)
    assert.equal(failed.headers['x-accel-redirect'], undefined)
  })

  it('delegates a single range with the whole file named (the front server cuts it), and serves several itself', async () => {
    const one = await rawHead(srv, '/content/repo/big.iso', { range: 'bytes=100-199' })
    assert.equal(one.status, '200')
    assert.equal(one['x-accel-redirect'], `/_pulp_files/${artifact}`)
    const several = await request(srv.origin).get('/content/repo/big.iso').set('Range', 'bytes=0-9,100-109')
    assert.equal(several.status, 206)
    assert.match(String(several.headers['content-type']), /^multipart\/byteranges/)
    assert.equal(several.headers['x-accel-redirect'], undefined)
  })

  it('answers 416 itself', async () => {
    const res = await request(srv.origin).get('/content/repo/big.iso').set('Range', `bytes=${BIG.length}-`)
    assert.equal(res.status, 416)
    assert.equal(res.headers['x-accel-redirect'], undefined)
  })

  it('sends the file itself when the front server would judge the request differently', async () => {
    const etag = `"${sha256(BIG)}"`
    const matched = await request(srv.origin).get('/content/repo/big.iso').set('If-Match', etag).buffer(true)
    assert.equal(matched.status, 200)
    assert.equal(matched.headers['x-accel-redirect'], undefined)
    assert.equal(Number(matched.headers['content-length']), BIG.length)
    const weak = await request(srv.origin).get('/content/repo/plain.bin').set('Range', 'bytes=0-9').set('If-Range', 'W/"x"')
    assert.equal(weak.headers['x-accel-redirect'], undefined)
  })

  it('answers HEAD with the headers only, no redirect', async () => {
    const res = await request(srv.origin).head('/content/repo/big.iso')
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-length'], String(BIG.length))
    assert.equal(res.headers['x-accel-redirect'], undefined)
  })

  it('never names a file the containment check refuses', async () => {
    for (const name of ['secret', 'escape.bin']) {
      const res = await request(srv.origin).get(`/content/repo/${name}`)
      assert.equal(res.status, 404, name)
      assert.equal(res.headers['x-accel-redirect'], undefined, name)
    }
    assert.deepEqual(srv.errors, [])
  })
})

describe('FrontServer.locate', () => {
  it('answers undefined for a file whose real path is outside dataDir', async () => {
    const fx = await makeFixture()
    try {
      const front = accel(fx.dataDir, 'X-Accel-Redirect', '/p/')
      const fd = openSync(fx.secretPath, 'r')
      try {
        assert.equal(front.locate(fd, fx.secretPath), undefined)
      } finally {
        closeSync(fd)
      }
    } finally {
      await fx.cleanup()
    }
  })
})

/** A GET read to the end of its connection: the headers and how many body bytes came (a redirect has none, whatever its Content-Length). */
async function rawGet (srv: ContentServer, target: string): Promise<{ status: number, headers: IncomingHttpHeaders, received: number }> {
  return await new Promise((resolve, reject) => {
    get(srv.origin + target, (res) => {
      let received = 0
      res.on('data', (chunk: Buffer) => { received += chunk.length })
      res.on('error', () => {})
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, received }))
    }).on('error', reject)
  })
}

/** The status and headers of a GET whose body, if any, is left unread. */
async function rawHead (srv: ContentServer, target: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const res = await fetch(srv.origin + target, { headers })
  const out: Record<string, string> = { status: String(res.status) }
  res.headers.forEach((value, key) => { out[key] = value })
  await res.body?.cancel()
  return out
}
