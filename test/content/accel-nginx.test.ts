import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { nginxBinary, startNginx, type NginxServer } from '../../bench/lib/nginx'
import { buildPublication, patternBytes, publish, sha256 } from '../support/content-tree'
import { tempDir } from '../support/pulp'
import { serveFile } from '../support/upstream-faults'
import { fetchRaw, startPullThrough, type FetchResult, type PullThroughFixture } from '../support/upstream-pulp'

// Outside CI a machine without nginx skips; with CI=true (.ci/run installs it) it must run.
const skip = nginxBinary() !== undefined || process.env.CI === 'true' ? false : 'nginx is not installed (apt-get install -y nginx)'

const DOC = path.join(__dirname, '..', '..', 'docs', 'serving-with-nginx.md')
const PREFIX = '/_pulp_files/'
const STATIC = patternBytes(5 * 1024 * 1024 + 17, 3)
const PULLED = patternBytes(3 * 1024 * 1024 + 5, 4)
const SMALL = 'small enough for Node to send\n'

/** The nginx block of the docs' accel section, with this test's ports and dataDir put in. */
async function documentedConfig (appPort: number, dataDir: string): Promise<string> {
  const doc = await readFile(DOC, 'utf8')
  const section = doc.slice(doc.indexOf('## Delegating large files to nginx'))
  const block = /```nginx\n([\s\S]*?)```/.exec(section)?.[1]
  assert.ok(block !== undefined, 'the accel section of docs/serving-with-nginx.md has an nginx block')
  for (const part of ['listen 80;', 'server 127.0.0.1:8080;', 'alias /srv/pulp-data/;', `location ${PREFIX}`]) assert.ok(block.includes(part), part)
  return block
    .replace('listen 80;', 'listen 127.0.0.1:{port};')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${appPort};`)
    .replace('alias /srv/pulp-data/;', `alias ${dataDir}/;`)
}

describe('accel: real nginx in front sends the bytes', { skip }, () => {
  let f: PullThroughFixture
  let nginx: NginxServer
  let work: string
  let secret: string

  async function viaNginx (target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<FetchResult> {
    return await fetchRaw(nginx.port, target, { headers, method })
  }

  before(async () => {
    work = await tempDir('accel-nginx-')
    f = await startPullThrough({ accel: { header: 'X-Accel-Redirect', prefix: PREFIX } })
    await f.wire('mirror')
    f.upstream.on('/files/pulled.bin', serveFile(PULLED))
    const pub = await buildPublication(f.t.dataDir, '1', { 'big.iso': STATIC, 'small.txt': SMALL })
    secret = `SECRET-${sha256(STATIC).slice(0, 12)}\n`.repeat(100_000)
    await writeFile(path.join(work, 'secret.bin'), secret)
    await symlink(path.join(work, 'secret.bin'), path.join(pub, 'escape.bin'))
    await publish(f.t.dataDir, 'http', 'site', pub)
    nginx = await startNginx(path.join(work, 'nginx'), await documentedConfig(f.port, f.t.dataDir))
  })
  after(async () => {
    await nginx?.stop()
    await f?.cleanup()
    await rm(work, { recursive: true, force: true })
  })

  it('sends a large static file: the middleware names it, nginx sends its bytes', async () => {
    const direct = await f.get('site/big.iso')
    assert.match(String(direct.headers['x-accel-redirect']), /^\/_pulp_files\/artifacts\/[0-9a-f]{2}\/[0-9a-f]{62}$/)
    assert.equal(direct.body.length, 0)
    const res = await viaNginx('/pulp/content/site/big.iso')
    assert.equal(res.status, 200)
    assert.ok(res.body.equals(STATIC), 'the bytes differ from the published file')
    assert.equal(res.headers.etag, `"${sha256(STATIC)}"`)
    assert.equal(res.headers['content-type'], 'application/x-iso9660-image')
    assert.equal(res.headers['cache-control'], 'public, max-age=0, must-revalidate')
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.equal(res.headers['x-accel-redirect'], undefined)
    assert.equal(res.headers['last-modified'], direct.headers['last-modified'])
  })

  it('sends a pull-through HIT with its X-Pulp-Cache', async () => {
    const miss = await viaNginx('/pulp/content/mirror/pulled.bin')
    assert.equal(miss.headers['x-pulp-cache'], 'MISS')
    assert.ok(miss.body.equals(PULLED))
    await f.untilHit('mirror/pulled.bin')
    assert.ok((await f.get('mirror/pulled.bin')).headers['x-accel-redirect'] !== undefined, 'the HIT is delegated')
    const hit = await viaNginx('/pulp/content/mirror/pulled.bin')
    assert.equal(hit.status, 200)
    assert.equal(hit.headers['x-pulp-cache'], 'HIT')
    assert.match(String(hit.headers['cache-status']), /hit/)
    assert.equal(hit.headers.etag, `"${sha256(PULLED)}"`)
    assert.ok(hit.body.equals(PULLED), 'the HIT differs from the upstream file')
    assert.equal(f.upstream.hits('/files/pulled.bin'), 1)
  })

  it('answers a range with nginx applying the original Range header', async () => {
    const res = await viaNginx('/pulp/content/site/big.iso', { range: 'bytes=4194300-4194399' })
    assert.equal(res.status, 206)
    assert.equal(res.headers['content-range'], `bytes 4194300-4194399/${STATIC.length}`)
    assert.ok(res.body.equals(STATIC.subarray(4194300, 4194400)))
    const resumed = await viaNginx('/pulp/content/mirror/pulled.bin', { range: 'bytes=3000000-', 'if-range': `"${sha256(PULLED)}"` })
    assert.equal(resumed.status, 206)
    assert.ok(resumed.body.equals(PULLED.subarray(3000000)))
  })

  it('answers 304 to If-None-Match with the ETag it gave', async () => {
    const res = await viaNginx('/pulp/content/site/big.iso', { 'if-none-match': `"${sha256(STATIC)}"` })
    assert.equal(res.status, 304)
    assert.equal(res.body.length, 0)
  })

  it('answers HEAD with the headers only', async () => {
    const res = await viaNginx('/pulp/content/site/big.iso', {}, 'HEAD')
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-length'], String(STATIC.length))
    assert.equal(res.body.length, 0)
  })

  it('still sends a small file through the proxy itself', async () => {
    const res = await viaNginx('/pulp/content/site/small.txt')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), SMALL)
  })

  it('answers 404 with no bytes for a symlink out of the tree', async () => {
    const res = await viaNginx('/pulp/content/site/escape.bin')
    assert.equal(res.status, 404)
    assert.ok(!res.body.toString().includes('SECRET-'), 'the secret leaked')
    assert.equal(res.headers['x-accel-redirect'], undefined)
  })

  it('refuses a direct request for the internal location', async () => {
    const artifact = `artifacts/${sha256(STATIC).slice(0, 2)}/${sha256(STATIC).slice(2)}`
    const res = await viaNginx(`${PREFIX}${artifact}`)
    assert.equal(res.status, 404)
    assert.ok(!res.body.includes(STATIC.subarray(0, 64)))
  })
})
