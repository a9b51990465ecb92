import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { UpstreamHandler } from '../support/upstream-server'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { keepsAlive, UpstreamClients } from '../../lib/pull-through/upstream'
import type { StoredRemote } from '../../lib/storage/remotes'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/**
 * Upstreams that close the connection after a response: `Connection: close`, an HTTP/1.0
 * server (Python's http.server is one), a body only the close ends. The whole response often
 * arrives before the download has read it; the connection's end must then finish the body,
 * never take the process down (undici 7 asserts when a connection ends while the body it is
 * parsing waits for its reader).
 */
function rawResponse (head: string, body: Buffer): UpstreamHandler {
  return (req) => {
    // Head and body in one write, then FIN: all of it is in our socket before we read a byte.
    req.socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), req.method === 'HEAD' ? Buffer.alloc(0) : body]))
  }
}

const run = promisify(execFile)

const SHAPES: Array<{ name: string, framed: boolean, head: (length: number) => string }> = [
  { name: 'HTTP/1.1 with Content-Length and Connection: close', framed: true, head: (n) => `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${n}\r\nConnection: close` },
  { name: 'HTTP/1.0 with Content-Length', framed: true, head: (n) => `HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${n}` },
  { name: 'HTTP/1.1, no length, ended by the close', framed: false, head: () => 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close' }
]
const SIZES_KIB = [100, 128, 200, 256, 1024, 3 * 1024]

describe('upstreams that close the connection after the body', () => {
  let f: PullThroughFixture
  before(async () => {
    f = await startPullThrough()
    await f.wire('closing')
  })
  after(async () => { await f?.cleanup() })

  it('reads a body whose connection closes with room to spare; one kept alive with undici\'s usual room', async () => {
    assert.equal(keepsAlive('keep-alive'), true)
    assert.equal(keepsAlive(['Upgrade', 'Keep-Alive']), true)
    assert.equal(keepsAlive('keep-alive, close'), false)
    assert.equal(keepsAlive(undefined), false, 'an HTTP/1.0 answer says nothing and closes')
    const body = testBytes(1024)
    f.upstream.on('/files/kept.bin', serveFile(body))
    f.upstream.on('/files/closed.bin', rawResponse(SHAPES[0].head(body.length), body))
    const remote = { name: 'direct', url: f.upstream.url('files/'), headers: {}, readTimeout: 30, proxyUrl: null, tlsValidation: true, connectTimeout: null } as unknown as StoredRemote
    const clients = new UpstreamClients('test')
    try {
      for (const [file, room, connection] of [['kept.bin', 64 * 1024, 'keep-alive'], ['closed.bin', 64 * 1024 * 1024, 'close']] as const) {
        const res = await clients.request({ remote, url: f.upstream.url(`files/${file}`), method: 'GET', via: undefined, relativePath: file })
        assert.equal(res.headers.connection, connection)
        assert.equal((res.body as unknown as { readableHighWaterMark: number }).readableHighWaterMark, room, file)
        let got = 0
        for await (const chunk of res.body) got += (chunk as Buffer).length
        assert.equal(got, body.length)
      }
    } finally {
      await clients.close()
    }
  })

  for (const shape of SHAPES) {
    it(`streams every size whole (${shape.name})${shape.framed ? ' and saves it' : ''}`, async () => {
      for (const kib of SIZES_KIB) {
        const body = testBytes(kib * 1024)
        const file = `${shape.name.replace(/\W+/g, '-')}-${kib}.bin`
        f.upstream.on(`/files/${file}`, rawResponse(shape.head(body.length), body))
        const res = await f.get(`closing/${file}`)
        assert.equal(res.status, 200, `${kib} KiB`)
        assert.ok(res.body.equals(body), `${kib} KiB arrived whole`)
        if (shape.framed) {
          await f.untilHit(`closing/${file}`)
          assert.equal(await f.stored(body), true, `${kib} KiB saved`)
        } else {
          await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
          assert.equal(await f.stored(body), false, 'an unframed body is never saved')
        }
      }
    })
  }
})

// In a process of its own: what this guards against is an exception nothing can catch. The
// reader here is slower than any download (5 ms a chunk); every shape and size is asked for
// through the middleware's own upstream client, each answered in one write and a FIN.
describe('the upstream client, read slowly, when the upstream closes after the body', () => {
  it('delivers every byte and the process lives', async () => {
    const script = `
      const net = require('node:net')
      const { UpstreamClients } = require(${JSON.stringify(require.resolve('../../lib/pull-through/upstream'))})
      const heads = ${JSON.stringify(SHAPES.map((shape) => shape.head(0)))}
      const server = net.createServer((s) => s.once('data', (req) => {
        const [, shape, kib] = /GET \\/(\\d+)\\/(\\d+)/.exec(req.toString())
        const body = Buffer.alloc(Number(kib) * 1024, 97)
        const head = heads[Number(shape)].replace('Content-Length: 0', 'Content-Length: ' + body.length)
        s.on('error', () => {})
        s.end(Buffer.concat([Buffer.from(head + '\\r\\n\\r\\n'), body]))
      }))
      server.listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + server.address().port + '/'
        const remote = { name: 'closing', url, headers: {}, readTimeout: 30, proxyUrl: null, tlsValidation: true, connectTimeout: null }
        const clients = new UpstreamClients('test')
        const got = []
        for (const shape of heads.keys()) for (const kib of ${JSON.stringify(SIZES_KIB)}) {
          const res = await clients.request({ remote, url: url + shape + '/' + kib, method: 'GET', via: undefined, relativePath: 'x' })
          let n = 0
          for await (const chunk of res.body) { n += chunk.length; await new Promise((r) => setTimeout(r, 5)) }
          got.push(n / 1024)
        }
        console.log(JSON.stringify(got))
        await clients.close()
        server.close()
      })`
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script], { cwd: __dirname, timeout: 120_000 })
    assert.deepEqual(JSON.parse(stdout), SHAPES.flatMap(() => SIZES_KIB))
  })
})
