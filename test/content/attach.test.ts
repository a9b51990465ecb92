import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer, get as httpsGet } from 'node:https'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import express from 'express'
import { pulpMiddleware, type PulpMiddleware } from '../../lib'
import { rawRequest, type RawResponse } from '../support/content-http'
import { isolatedEnv, skipUnless } from '../support/clients'
import { NpmRegistry } from '../support/npm-registry'
import { asPublished, PypiUpstream } from '../support/python-index'
import { UpstreamServer } from '../support/upstream-server'
import { testBytes } from '../support/upstream-faults'
import { eventually } from '../support/fs-wait'

const run = promisify(execFile)

/** What may differ between the two ways in: Express's own banner, and the clock. */
const EXPRESS_ONLY = new Set(['x-powered-by', 'date', 'connection', 'keep-alive', 'age'])

function comparable (r: RawResponse): { status: number, headers: Record<string, unknown>, body: string } {
  const headers = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !EXPRESS_ONLY.has(k)).sort(([a], [b]) => a < b ? -1 : 1))
  // A metadata copy's time left, in seconds, may tick between the two requests.
  if (typeof headers['cache-status'] === 'string') headers['cache-status'] = headers['cache-status'].replace(/; ttl=\d+/, '; ttl=N')
  return { status: r.status, headers, body: r.body.toString('base64') }
}

function skipUnlessOpenssl (): string | false {
  // .ci/run installs it; with CI=true a missing one fails here rather than skipping.
  return existsSync('/usr/bin/openssl') || process.env.CI === 'true' ? false : 'openssl is not installed (apt-get install -y openssl)'
}

async function listen (server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/**
 * One middleware instance in one Express app, behind two servers: one as every app runs it,
 * one with `pulp.attach()`. Every content request must get the same answer from both; only
 * the attached one skips the app's own middleware.
 */
describe('attach(): content answered before Express', () => {
  let dataDir: string
  let pulp: PulpMiddleware
  let plain: Server
  let attached: Server
  let plainPort: number
  let attachedPort: number
  let upstream: UpstreamServer
  let pypi: PypiUpstream
  let npm: NpmRegistry
  const seenByApp: string[] = []
  const small = testBytes(1024)
  const big = testBytes(300 * 1024)
  const remoteFile = testBytes(5000)
  const wheel = testBytes(2048)

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'pulp-attach-'))
    pulp = pulpMiddleware({ dataDir, runner: { pollInterval: 0.05 } })
    const app = express()
    app.use((req, _res, next) => { seenByApp.push(`${req.method} ${req.originalUrl}`); next() })
    app.use('/pulp', pulp)
    await pulp.ready
    plain = createServer(app)
    attached = createServer(app)
    pulp.attach(attached, { mountPath: '/pulp' })
    plainPort = await listen(plain)
    attachedPort = await listen(attached)

    await pulp.repositories.create({ id: 'site' })
    for (const [relativePath, file] of [['small.bin', small], ['dir/big.bin', big], ['dir/index.html', Buffer.from('<p>index</p>')], ['other/a b.txt', Buffer.from('space')]] as const) {
      await pulp.repositories.addContent('site', { relativePath, file })
    }
    await pulp.distributors.add('site', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'site' } })
    const task = await pulp.publish('site', 'web')
    assert.equal((await pulp.tasks.wait(task.taskId, { timeout: 30 })).state, 'finished')

    upstream = await UpstreamServer.start()
    upstream.on('/files/remote.bin', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': remoteFile.length })
      res.end(req.method === 'HEAD' ? undefined : remoteFile)
    })
    await pulp.remotes.create({ name: 'up', url: upstream.url('files/') })
    await pulp.distributions.create({ name: 'mirror', basePath: 'mirror', remote: 'up' })
    pypi = await PypiUpstream.start()
    pypi.publish('tiny-pkg', asPublished({ 'tiny_pkg-1.0-py3-none-any.whl': wheel }))
    await pulp.remotes.create({ name: 'pypi-up', url: pypi.url, remoteTypeId: 'python', metadataTtl: 600 })
    await pulp.distributions.create({ name: 'pypi', basePath: 'pypi', remote: 'pypi-up' })
    npm = await NpmRegistry.start()
    await pulp.remotes.create({ name: 'npm-up', url: npm.url, remoteTypeId: 'npm', metadataTtl: 600 })
    await pulp.distributions.create({ name: 'npm', basePath: 'npm', remote: 'npm-up' })
  })
  after(async () => {
    for (const s of [plain, attached]) {
      s?.closeAllConnections()
      await new Promise<void>((resolve) => s?.close(() => resolve()) ?? resolve())
    }
    await pulp?.close()
    await upstream?.close()
    await pypi?.index.close()
    await pypi?.files.close()
    await npm?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  async function both (target: string, options: { method?: string, headers?: Record<string, string> } = {}): Promise<RawResponse> {
    const before = seenByApp.length
    const viaAttach = await rawRequest(attachedPort, target, options)
    assert.equal(seenByApp.length, before, `${target} through attach() reached the app's middleware`)
    const viaApp = await rawRequest(plainPort, target, options)
    assert.deepEqual(comparable(viaAttach), comparable(viaApp), `${options.method ?? 'GET'} ${target} ${JSON.stringify(options.headers ?? {})}`)
    assert.equal(viaApp.headers['x-powered-by'], 'Express', 'the plain server went through Express')
    return viaAttach
  }

  it('answers published files exactly as through the app: bytes, ranges, conditionals, HEAD', async () => {
    const file = '/pulp/content/site/small.bin'
    const got = await both(file)
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, small)
    const etag = String(got.headers.etag)
    assert.equal((await both(file, { headers: { 'if-none-match': etag } })).status, 304)
    assert.equal((await both(file, { headers: { 'if-modified-since': String(got.headers['last-modified']) } })).status, 304)
    const range = await both('/pulp/content/site/dir/big.bin', { headers: { range: 'bytes=1000-1999' } })
    assert.equal(range.status, 206)
    assert.deepEqual(range.body, big.subarray(1000, 2000))
    assert.equal((await both('/pulp/content/site/dir/big.bin', { headers: { range: 'bytes=-10' } })).body.length, 10)
    assert.equal((await both(file, { headers: { range: 'bytes=5000-6000' } })).status, 416)
    const head = await both(file, { method: 'HEAD' })
    assert.equal(head.headers['content-length'], '1024')
    assert.equal(head.body.length, 0)
    assert.deepEqual((await both(`${file}?x=1`)).body, small)
    assert.deepEqual((await both('/pulp/content/site/dir/big.bin')).body, big)
    assert.equal((await both('/pulp/content/site/other/a%20b.txt')).body.toString(), 'space')
  })

  it('answers directories, listings, errors and odd paths as the app does', async () => {
    const redirect = await both('/pulp/content/site/other?q=1')
    assert.equal(redirect.status, 301)
    assert.equal(redirect.headers.location, '/pulp/content/site/other/?q=1')
    assert.equal((await both('/pulp/content/site/dir/')).body.toString(), '<p>index</p>')
    assert.match((await both('/pulp/content/site/other/')).body.toString(), /a b\.txt/)
    const json = await both('/pulp/content/site/other/', { headers: { accept: 'application/json' } })
    assert.match(String(json.headers['content-type']), /^application\/json/)
    assert.equal((await both('/pulp/content/site/missing.bin')).status, 404)
    assert.equal((await both('/pulp/content/site/..%2fsmall.bin')).status, 400)
    assert.equal((await both('/pulp/content/site/a%00b')).status, 400)
    assert.equal((await both('/pulp/content/@scope%2fname')).status, 400)
    assert.equal((await both('/pulp/content')).status, 301)
    assert.equal((await both('/pulp/content/')).status, 200)
  })

  it('pulls through and rewrites index pages for the Host asked, as the app does', async () => {
    const first = await rawRequest(attachedPort, '/pulp/content/mirror/remote.bin')
    assert.equal(first.status, 200)
    assert.deepEqual(first.body, remoteFile)
    assert.equal(first.headers['x-pulp-cache'], 'MISS')
    // The copy is saved once the download ends, just after the client has its last byte.
    await eventually(async () => (await rawRequest(plainPort, '/pulp/content/mirror/remote.bin')).headers['x-pulp-cache'] === 'HIT', 5000, 'the pulled file saved')
    const hit = await both('/pulp/content/mirror/remote.bin')
    assert.equal(hit.headers['x-pulp-cache'], 'HIT')
    assert.deepEqual(hit.body, remoteFile)
    assert.equal(upstream.hits('/files/remote.bin', 'GET'), 1)
    // A python page (relative links) and an npm packument (absolute tarball URLs, made for
    // the Host the client used), rewritten once, then the same through both.
    await rawRequest(plainPort, '/pulp/content/pypi/tiny-pkg/')
    const page = await both('/pulp/content/pypi/tiny-pkg/')
    assert.match(page.body.toString(), /href="\.\.\/tiny-pkg\/tiny_pkg-1\.0-py3-none-any\.whl#sha256=/)
    const host = { host: 'mirror.example:8080' }
    await rawRequest(plainPort, '/pulp/content/npm/tiny-dep', { headers: host })
    const packument = await both('/pulp/content/npm/tiny-dep', { headers: host })
    assert.match(packument.body.toString(), /"tarball":"http:\/\/mirror\.example:8080\/pulp\/content\/npm\//)
    await rawRequest(plainPort, '/pulp/content/npm/@tiny%2fapp', { headers: host })
    assert.equal((await both('/pulp/content/npm/@tiny%2fapp', { headers: host })).headers['x-pulp-cache'], 'HIT')
  })

  it('leaves to the app what is not a content GET or HEAD, or carries X-Forwarded-*', async () => {
    const cases: Array<[string, { method?: string, headers?: Record<string, string> }]> = [
      ['/pulp/content/site/small.bin', { method: 'POST' }],
      ['/pulp/content/site/small.bin', { headers: { 'x-forwarded-proto': 'https' } }],
      ['/pulp/content/site/small.bin', { headers: { 'x-forwarded-host': 'elsewhere.example' } }],
      ['/pulp/api/v1/repositories', {}],
      ['/pulp', {}],
      ['/pulpx/content/site/small.bin', {}],
      ['/elsewhere', {}]
    ]
    for (const [target, options] of cases) {
      const before = seenByApp.length
      const res = await rawRequest(attachedPort, target, options)
      assert.equal(seenByApp.length, before + 1, `${options.method ?? 'GET'} ${target} ${JSON.stringify(options.headers ?? {})} did not reach the app`)
      assert.equal(res.headers['x-powered-by'], 'Express')
    }
    assert.equal((await rawRequest(attachedPort, '/pulp/content/site/small.bin', { method: 'POST' })).status, 405)
  })

  it('curl downloads through the attached server byte for byte', { skip: skipUnless('curl') }, async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'pulp-attach-curl-'))
    try {
      const out = path.join(home, 'big.bin')
      await run('curl', ['--fail', '--silent', '--show-error', '-o', out, `http://127.0.0.1:${attachedPort}/pulp/content/site/dir/big.bin`], { env: isolatedEnv(home) })
      assert.deepEqual(await readFile(out), big)
      // Resumed from the middle, as curl -C does.
      await run('curl', ['--fail', '--silent', '--show-error', '-r', '100000-', '-o', out, `http://127.0.0.1:${attachedPort}/pulp/content/site/dir/big.bin`], { env: isolatedEnv(home) })
      assert.deepEqual(await readFile(out), big.subarray(100_000))
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })

  it('rejects a mount path it could not match, naming what to give', () => {
    const server = createServer()
    for (const bad of ['pulp', '/pulp/', '/a b', '/../x', '/']) {
      assert.throws(() => pulp.attach(server, { mountPath: bad }), (err: Error) => err instanceof TypeError && /mountPath must be '' or a path like '\/pulp'/.test(err.message), bad)
    }
  })
})

describe('attach() on an https server', { skip: skipUnlessOpenssl() }, () => {
  it('serves the https tree to requests over TLS, and the http tree to the others', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pulp-attach-tls-'))
    const pulp = pulpMiddleware({ dataDir: path.join(dir, 'data'), runner: { pollInterval: 0.05 } })
    const app = express()
    app.use('/pulp', pulp)
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', key, '-out', cert])
    const tls = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, app)
    pulp.attach(tls, { mountPath: '/pulp' })
    const plainServer = createServer(app)
    pulp.attach(plainServer, { mountPath: '/pulp' })
    try {
      await pulp.ready
      const secret = testBytes(700)
      await pulp.repositories.create({ id: 'sec' })
      await pulp.repositories.addContent('sec', { relativePath: 's.bin', file: secret })
      await pulp.distributors.add('sec', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'sec', http: false, https: true } })
      assert.equal((await pulp.tasks.wait((await pulp.publish('sec', 'web')).taskId, { timeout: 30 })).state, 'finished')
      tls.listen(0, '127.0.0.1')
      await once(tls, 'listening')
      const tlsPort = (tls.address() as AddressInfo).port
      const plainPort = await listen(plainServer)
      const got = await new Promise<{ status: number, body: Buffer }>((resolve, reject) => {
        httpsGet({ host: '127.0.0.1', port: tlsPort, path: '/pulp/content/sec/s.bin', rejectUnauthorized: false }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
        }).on('error', reject)
      })
      assert.equal(got.status, 200)
      assert.deepEqual(got.body, secret)
      assert.equal((await rawRequest(plainPort, '/pulp/content/sec/s.bin')).status, 404)
    } finally {
      for (const s of [tls, plainServer]) {
        s.closeAllConnections()
        await new Promise<void>((resolve) => s.close(() => resolve()))
      }
      await pulp.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('attach() after close', () => {
  it('hands content requests to the app, which answers that the middleware is closed', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pulp-attach-closed-'))
    const pulp = pulpMiddleware({ dataDir })
    const app = express()
    const seen: string[] = []
    app.use((req, _res, next) => { seen.push(req.originalUrl); next() })
    app.use(pulp)
    const server = createServer(app)
    pulp.attach(server)
    const port = await listen(server)
    try {
      await pulp.ready
      assert.equal((await rawRequest(port, '/content/')).status, 200)
      assert.deepEqual(seen, [], 'a started middleware answered before the app')
      await pulp.close()
      const res = await rawRequest(port, '/content/x')
      assert.deepEqual(seen, ['/content/x'])
      assert.equal(res.status, 503)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pulp.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
