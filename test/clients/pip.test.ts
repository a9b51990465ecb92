import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { isolatedEnv, readTree, skipUnless, startSite, type PublishedSite } from '../support/clients'
import { UpstreamServer } from '../support/upstream-server'
import { serveFile } from '../support/upstream-faults'

const run = promisify(execFile)
const skip = skipUnless('python3')

/**
 * Writes a minimal pure-Python wheel by hand (no network, no build backend): a module, METADATA,
 * WHEEL and a RECORD with each file's urlsafe-base64 sha256, as the wheel spec wants.
 */
const WHEEL_SCRIPT = `
import base64, hashlib, sys, zipfile
outdir, name = sys.argv[1:3]
dist = name.replace('-', '_')
for version in sys.argv[3:]:
  files = {
    f'{dist}/__init__.py': f'VERSION = {version!r}\\n'.encode(),
    f'{dist}-{version}.dist-info/METADATA': f'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n'.encode(),
    f'{dist}-{version}.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: by-hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
  }
  record = f'{dist}-{version}.dist-info/RECORD'
  lines = []
  for p, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    lines.append(f'{p},sha256={digest},{len(data)}')
  lines.append(f'{record},,')
  files[record] = ('\\n'.join(lines) + '\\n').encode()
  with zipfile.ZipFile(f'{outdir}/{dist}-{version}-py3-none-any.whl', 'w', zipfile.ZIP_DEFLATED) as z:
    for p, data in files.items():
      z.writestr(zipfile.ZipInfo(p, (2020, 1, 1, 0, 0, 0)), data)
`

function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

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
  let work: string
  let python: string
  let env: NodeJS.ProcessEnv
  let site: PublishedSite
  let mirror: PublishedSite
  let upstream: UpstreamServer
  const wheels: Record<string, Buffer> = {}

  /** `python -m pip <args>` with nothing of this machine's configuration. */
  async function pip (args: string[]): Promise<{ stdout: string, stderr: string }> {
    return await run(python, ['-m', 'pip', ...args], { env, cwd: work, timeout: 60_000 })
  }

  async function download (args: string[]): Promise<Record<string, Buffer>> {
    const dest = await mkdtemp(path.join(work, 'dl-'))
    await pip(['download', '--no-deps', '--no-cache-dir', '--disable-pip-version-check', '--no-input',
      '--retries', '0', '--timeout', '15', '--dest', dest, ...args])
    return await readTree(dest)
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'pip-client-'))
    // The machine's python3 may be a pyenv shim that needs the real HOME: ask it once where it lives.
    python = (await run('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim()
    const home = path.join(work, 'home')
    await mkdir(home)
    env = isolatedEnv(home, { PIP_CONFIG_FILE: '/dev/null', PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1' })
    await writeFile(path.join(work, 'wheel.py'), WHEEL_SCRIPT)
    await run(python, [path.join(work, 'wheel.py'), work, 'tiny-pkg', '1.0', '1.1'], { env })
    for (const version of ['1.0', '1.1']) {
      const file = `tiny_pkg-${version}-py3-none-any.whl`
      wheels[file] = await readFile(path.join(work, file))
    }
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
    await rm(work, { recursive: true, force: true })
  })

  it('runs with no configuration of this machine\'s (no extra index or find-links leaking in)', async () => {
    const { stdout } = await pip(['config', 'list'])
    assert.deepEqual(stdout.trim().split('\n'), [":env:.config-file='/dev/null'"])
    assert.deepEqual(Object.keys(env).filter((k) => /^PIP_|_PROXY$/i.test(k)), ['PIP_CONFIG_FILE'])
  })

  it('downloads the newest wheel with --index-url from a PEP 503 tree of index.html files, checking its #sha256=', async () => {
    const got = await download(['--index-url', `${site.url}/simple/`, 'tiny-pkg'])
    assert.deepEqual(Object.keys(got), ['tiny_pkg-1.1-py3-none-any.whl'])
    assert.ok(got['tiny_pkg-1.1-py3-none-any.whl'].equals(wheels['tiny_pkg-1.1-py3-none-any.whl']))
    const page = site.requests.find((r) => r.url === '/pulp/content/pypi/simple/tiny-pkg/')
    assert.equal(page?.status, 200, 'the project page is the published index.html')
  })

  it('downloads a pinned version with --find-links on the directory listing, no index', async () => {
    const got = await download(['--no-index', '--find-links', `${site.url}/packages/`, 'tiny-pkg==1.0'])
    assert.deepEqual(Object.keys(got), ['tiny_pkg-1.0-py3-none-any.whl'])
    assert.ok(got['tiny_pkg-1.0-py3-none-any.whl'].equals(wheels['tiny_pkg-1.0-py3-none-any.whl']))
  })

  it('downloads through a distribution pulling a PEP 503 index through from its remote', async () => {
    const got = await download(['--index-url', `${mirror.origin}/pulp/content/mirror/simple/`, 'tiny-pkg==1.0'])
    assert.ok(got['tiny_pkg-1.0-py3-none-any.whl'].equals(wheels['tiny_pkg-1.0-py3-none-any.whl']))
    assert.equal(upstream.hits('/pypi/simple/tiny-pkg/'), 1)
    assert.equal(upstream.hits('/pypi/packages/tiny_pkg-1.0-py3-none-any.whl'), 1)
  })
})
