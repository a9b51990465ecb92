import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { skipUnless, startSite, type PublishedSite } from '../support/clients'
import { sha256, startPip, type Pip } from '../support/python-index'
import { UpstreamServer } from '../support/upstream-server'
import { serveFile } from '../support/upstream-faults'

const skip = skipUnless('python3')

/** A PEP 503 tree: simple/index.html, simple/<name>/index.html with #sha256= links, packages/. */
function pep503 (name: string, wheels: Record<string, Buffer>): Record<string, Buffer | string> {
  const links = Object.entries(wheels).map(([file, bytes]) => `<a href="../../packages/${file}#sha256=${sha256(bytes)}">${file}</a><br>`)
  return {
    'simple/index.html': `<!DOCTYPE html>\n<html><body><a href="${name}/">${name}</a></body></html>\n`,
    [`simple/${name}/index.html`]: `<!DOCTYPE html>\n<html><head><title>Links for ${name}</title></head><body>\n${links.join('\n')}\n</body></html>\n`,
    ...Object.fromEntries(Object.entries(wheels).map(([file, bytes]) => [`packages/${file}`, bytes]))
  }
}

describe('pip against the static tree', { skip }, () => {
  let p: Pip
  let site: PublishedSite
  let mirror: PublishedSite
  let upstream: UpstreamServer
  const wheels: Record<string, Buffer> = {}

  before(async () => {
    p = await startPip()
    const built = await p.build('tiny-pkg', ['1.0', '1.1'])
    for (const [file, bytes] of Object.entries(built)) if (file.endsWith('.whl')) wheels[file] = bytes
    site = await startSite({ relativeUrl: 'pypi' })
    await site.publish(pep503('tiny-pkg', wheels))
    // Pull-through: a distribution whose remote is a plain upstream with the same tree.
    upstream = await UpstreamServer.start()
    for (const [rel, content] of Object.entries(pep503('tiny-pkg', wheels))) {
      upstream.on(`/pypi/${rel.replace(/index\.html$/, '')}`, serveFile(Buffer.from(content), { headers: { 'content-type': rel.endsWith('.html') ? 'text/html' : 'application/octet-stream' } }))
    }
    mirror = await startSite({ relativeUrl: 'unused' })
    const api = `${mirror.origin}/pulp/api/v1`
    for (const [url, body] of [[`${api}/remotes`, { name: 'pypi-up', url: upstream.url('pypi/') }], [`${api}/distributions`, { name: 'pypi-mirror', base_path: 'mirror', remote: 'pypi-up' }]] as const) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      assert.equal(res.status, 201, await res.text())
    }
  })
  after(async () => {
    await site?.close()
    await mirror?.close()
    await upstream?.close()
    if (p !== undefined) await rm(p.work, { recursive: true, force: true })
  })

  it('runs with no configuration of this machine\'s (no extra index or find-links leaking in)', async () => {
    const { stdout } = await p.pip(['config', 'list'])
    assert.deepEqual(stdout.trim().split('\n'), [":env:.config-file='/dev/null'"])
    assert.deepEqual(Object.keys(p.env).filter((k) => /^PIP_|_PROXY$/i.test(k)), ['PIP_CONFIG_FILE'])
  })

  it('downloads the newest wheel with --index-url from a PEP 503 tree of index.html files, checking its #sha256=', async () => {
    const got = await p.download(['--no-cache-dir', '--index-url', `${site.url}/simple/`, 'tiny-pkg'])
    assert.deepEqual(Object.keys(got), ['tiny_pkg-1.1-py3-none-any.whl'])
    assert.ok(got['tiny_pkg-1.1-py3-none-any.whl'].equals(wheels['tiny_pkg-1.1-py3-none-any.whl']))
    const page = site.requests.find((r) => r.url === '/pulp/content/pypi/simple/tiny-pkg/')
    assert.equal(page?.status, 200, 'the project page is the published index.html')
  })

  it('downloads a pinned version with --find-links on the directory listing, no index', async () => {
    const got = await p.download(['--no-cache-dir', '--no-index', '--find-links', `${site.url}/packages/`, 'tiny-pkg==1.0'])
    assert.deepEqual(Object.keys(got), ['tiny_pkg-1.0-py3-none-any.whl'])
    assert.ok(got['tiny_pkg-1.0-py3-none-any.whl'].equals(wheels['tiny_pkg-1.0-py3-none-any.whl']))
  })

  it('downloads through a distribution pulling a PEP 503 index through from its remote', async () => {
    const got = await p.download(['--no-cache-dir', '--index-url', `${mirror.origin}/pulp/content/mirror/simple/`, 'tiny-pkg==1.0'])
    assert.ok(got['tiny_pkg-1.0-py3-none-any.whl'].equals(wheels['tiny_pkg-1.0-py3-none-any.whl']))
    assert.equal(upstream.hits('/pypi/simple/tiny-pkg/'), 1)
    assert.equal(upstream.hits('/pypi/packages/tiny_pkg-1.0-py3-none-any.whl'), 1)
  })
})
