import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { isolatedEnv, readTree } from './clients'
import { UpstreamServer } from './upstream-server'

const run = promisify(execFile)

/**
 * Writes minimal pure-Python wheels by hand (no network, no build backend): a module, METADATA,
 * WHEEL and a RECORD with each file's urlsafe-base64 sha256, as the wheel spec wants; beside
 * each, its METADATA alone as `<wheel>.metadata` (PEP 658), and with `--sdist` an sdist.
 */
const DIST_SCRIPT = `
import base64, hashlib, io, sys, tarfile, zipfile
outdir, name, *versions = sys.argv[1:]
sdist = '--sdist' in versions
versions = [v for v in versions if v != '--sdist']
dist = name.replace('-', '_')
for version in versions:
  metadata = f'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\nRequires-Python: >=3.7\\n'.encode()
  files = {
    f'{dist}/__init__.py': f'VERSION = {version!r}\\n'.encode(),
    f'{dist}-{version}.dist-info/METADATA': metadata,
    f'{dist}-{version}.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: by-hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
  }
  record = f'{dist}-{version}.dist-info/RECORD'
  lines = []
  for p, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    lines.append(f'{p},sha256={digest},{len(data)}')
  lines.append(f'{record},,')
  files[record] = ('\\n'.join(lines) + '\\n').encode()
  wheel = f'{outdir}/{dist}-{version}-py3-none-any.whl'
  with zipfile.ZipFile(wheel, 'w', zipfile.ZIP_DEFLATED) as z:
    for p, data in files.items():
      z.writestr(zipfile.ZipInfo(p, (2020, 1, 1, 0, 0, 0)), data)
  with open(wheel + '.metadata', 'wb') as m:
    m.write(metadata)
  if sdist:
    with tarfile.open(f'{outdir}/{dist}-{version}.tar.gz', 'w:gz') as t:
      for p, data in {f'{dist}-{version}/PKG-INFO': metadata, f'{dist}-{version}/{dist}/__init__.py': files[f'{dist}/__init__.py']}.items():
        info = tarfile.TarInfo(p)
        info.size = len(data)
        info.mtime = 1577836800
        t.addfile(info, io.BytesIO(data))
`

export function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** A pip with nothing of this machine's configuration, in a work directory of its own. */
export interface Pip {
  work: string
  python: string
  env: NodeJS.ProcessEnv
  pip: (args: string[]) => Promise<{ stdout: string, stderr: string }>
  /** `pip download --no-deps` into a fresh directory; answers the files it wrote. */
  download: (args: string[]) => Promise<Record<string, Buffer>>
  /** Writes wheels (and `.metadata`, and with `sdist` an sdist) of `name` at `versions`; answers file name -> bytes. */
  build: (name: string, versions: string[], options?: { sdist?: boolean }) => Promise<Record<string, Buffer>>
}

export async function startPip (): Promise<Pip> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'pip-client-'))
  // The machine's python3 may be a pyenv shim that needs the real HOME: ask it once where it lives.
  const python = (await run('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim()
  const home = path.join(work, 'home')
  await mkdir(home)
  const env = isolatedEnv(home, { PIP_CONFIG_FILE: '/dev/null', PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1' })
  await writeFile(path.join(work, 'dists.py'), DIST_SCRIPT)
  const pip = async (args: string[]): Promise<{ stdout: string, stderr: string }> =>
    await run(python, ['-m', 'pip', ...args], { env, cwd: work, timeout: 90_000 })
  return {
    work,
    python,
    env,
    pip,
    async download (args) {
      const dest = await mkdtemp(path.join(work, 'dl-'))
      await pip(['download', '--no-deps', '--disable-pip-version-check', '--no-input', '--retries', '0', '--timeout', '15', '--dest', dest, ...args])
      return await readTree(dest)
    },
    async build (name, versions, options = {}) {
      const out = await mkdtemp(path.join(work, 'dists-'))
      await run(python, [path.join(work, 'dists.py'), out, name, ...versions, ...(options.sdist === true ? ['--sdist'] : [])], { env })
      return await readTree(out)
    }
  }
}

/** A build's files as the upstream publishes them. */
export function asPublished (dists: Record<string, Buffer>): Record<string, PublishedFile> {
  return Object.fromEntries(Object.entries(dists).map(([name, bytes]) => [name, { bytes }]))
}

export interface PublishedFile {
  bytes: Buffer
  /** What the files host serves instead (a tampered copy). */
  served?: Buffer
  /** PEP 592: the reason this file is yanked. */
  yanked?: string
}

/**
 * A PyPI-shaped upstream on two hosts, as pypi.org is: an index host with PEP 503 HTML or
 * PEP 691 JSON project pages (by Accept, with an ETag), whose links are absolute URLs on a
 * files host. Wheels get `data-requires-python` and PEP 658/714 `.metadata` attributes.
 */
export class PypiUpstream {
  readonly index: UpstreamServer
  readonly files: UpstreamServer
  /** Wait before answering a page (ms), so that requests overlap. */
  pageDelay = 0
  readonly #projects = new Map<string, Record<string, PublishedFile>>()

  private constructor (index: UpstreamServer, files: UpstreamServer) {
    this.index = index
    this.files = files
  }

  static async start (): Promise<PypiUpstream> {
    return new PypiUpstream(await UpstreamServer.start(), await UpstreamServer.start())
  }

  /** The index root, for the remote's `url`. */
  get url (): string { return this.index.url('simple/') }

  fileUrl (name: string): string { return this.files.url(`packages/${name}`) }

  /** Publishes a project's files (every name of `dists`, `.metadata` files going beside their wheels). */
  publish (project: string, dists: Record<string, PublishedFile>): void {
    this.#projects.set(project, dists)
    for (const [name, file] of Object.entries(dists)) {
      this.files.on(`/packages/${name}`, (req, res) => {
        const body = file.served ?? file.bytes
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
        res.end(req.method === 'HEAD' ? undefined : body)
      })
    }
    this.index.on(`/simple/${project}/`, async (req, res) => {
      if (this.pageDelay > 0) await sleep(this.pageDelay)
      const json = /application\/vnd\.pypi\.simple\.v1\+json/.test(String(req.headers.accept))
      const body = Buffer.from(json ? this.#json(project) : this.#html(project))
      const etag = `"${sha256(body).slice(0, 16)}"`
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end()
      res.writeHead(200, { 'content-type': json ? 'application/vnd.pypi.simple.v1+json' : 'text/html; charset=utf-8', etag, 'content-length': body.length })
      res.end(req.method === 'HEAD' ? undefined : body)
    })
  }

  #entries (project: string): Array<[string, PublishedFile, PublishedFile | undefined]> {
    const dists = this.#projects.get(project) ?? {}
    return Object.entries(dists).filter(([name]) => !name.endsWith('.metadata')).map(([name, file]) => [name, file, dists[`${name}.metadata`]])
  }

  #html (project: string): string {
    const links = this.#entries(project).map(([name, file, metadata]) => {
      const core = metadata === undefined ? '' : ` data-requires-python="&gt;=3.7" data-dist-info-metadata="sha256=${sha256(metadata.bytes)}" data-core-metadata="sha256=${sha256(metadata.bytes)}"`
      const yanked = file.yanked === undefined ? '' : ` data-yanked="${file.yanked}"`
      return `<a href="${this.fileUrl(name)}#sha256=${sha256(file.bytes)}"${core}${yanked}>${name}</a><br/>`
    })
    return `<!DOCTYPE html>\n<html><head><title>Links for ${project}</title></head><body>\n${links.join('\n')}\n</body></html>\n`
  }

  #json (project: string): string {
    const files = this.#entries(project).map(([name, file, metadata]) => ({
      filename: name,
      url: this.fileUrl(name),
      hashes: { sha256: sha256(file.bytes) },
      ...(metadata === undefined ? {} : { 'requires-python': '>=3.7', 'core-metadata': { sha256: sha256(metadata.bytes) }, 'dist-info-metadata': { sha256: sha256(metadata.bytes) } }),
      yanked: file.yanked ?? false
    }))
    return JSON.stringify({ meta: { 'api-version': '1.1' }, name: project, versions: [], files })
  }

  async close (): Promise<void> {
    await this.index.close()
    await this.files.close()
  }
}
