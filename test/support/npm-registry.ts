import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { packTarball } from './npm-tarball'
import { UpstreamServer } from './upstream-server'

/** What npm asks for an abbreviated packument with (npm-registry-fetch's own Accept). */
export const ABBREVIATED_ACCEPT = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'

/** A package version the fixture registry serves, with its tarball and the digests it lists. */
export interface NpmPackage {
  name: string
  version: string
  dependencies: Record<string, string>
  /** The content of its `index.js`. */
  index: string
  tarball: Buffer
  /** `sha512-<base64>`, as `dist.integrity` gives it. */
  integrity: string
  /** Hex sha1, as `dist.shasum` gives it. */
  shasum: string
  /** Path of the tarball on the tarball host, whose file name is the registry's (`<name without scope>-<version>.tgz`). */
  tarballPath: string
}

function makePackage (name: string, version: string, dependencies: Record<string, string>, index: string): NpmPackage {
  const tarball = packTarball({
    'package.json': JSON.stringify({ name, version, main: 'index.js', license: 'MIT', dependencies }, null, 2),
    'index.js': index
  })
  const fileName = `${name.split('/').pop() as string}-${version}.tgz`
  return {
    name,
    version,
    dependencies,
    index,
    tarball,
    integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
    shasum: createHash('sha1').update(tarball).digest('hex'),
    tarballPath: `/tarballs/${name}/-/${fileName}`
  }
}

/**
 * A local npm registry made of two real servers, as registry.npmjs.org is one host for
 * packuments and (in general) any other for tarballs: `registry` answers packuments under
 * `/registry/` (the full document, or the abbreviated one for npm's install Accept), whose
 * `dist.tarball` are absolute URLs on `files`. Two packages to begin with: `tiny-dep` and the
 * scoped `@tiny/app`, which depends on it; `publish` adds versions. Faults are switched at run time: `tamper` serves a
 * tarball with one byte changed (same length), `stop` closes both servers.
 */
export class NpmRegistry {
  readonly registry: UpstreamServer
  readonly files: UpstreamServer
  readonly dep: NpmPackage
  readonly app: NpmPackage
  /** Every version published, by package name, oldest first. */
  readonly #versions = new Map<string, NpmPackage[]>()
  readonly #tampered = new Set<string>()

  private constructor (registry: UpstreamServer, files: UpstreamServer) {
    this.registry = registry
    this.files = files
    this.dep = this.publish('tiny-dep', '1.0.0', {}, "module.exports = 'tiny-dep 1.0.0'\n")
    this.app = this.publish('@tiny/app', '1.0.0', { 'tiny-dep': '^1.0.0' }, "module.exports = 'app with ' + require('tiny-dep')\n")
  }

  /** Adds a version (the latest from now on) to a package, new or not. */
  publish (name: string, version: string, dependencies: Record<string, string>, index: string): NpmPackage {
    const pkg = makePackage(name, version, dependencies, index)
    const versions = this.#versions.get(name)
    if (versions !== undefined) {
      versions.push(pkg)
    } else {
      this.#versions.set(name, [pkg])
      // npm asks for a scoped name with its slash encoded, lower case; other clients upper case.
      const escaped = name.replace('/', '%2f')
      for (const path of new Set([escaped, escaped.replace('%2f', '%2F')])) {
        this.registry.on(`/registry/${path}`, (req, res) => { this.#packument(name, req, res) })
      }
    }
    this.files.on(pkg.tarballPath, (req, res) => { this.#tarball(pkg, req, res) })
    return pkg
  }

  static async start (): Promise<NpmRegistry> {
    return new NpmRegistry(await UpstreamServer.start(), await UpstreamServer.start())
  }

  /** The registry root, a remote's `url`. */
  get url (): string {
    return this.registry.url('registry/')
  }

  get packages (): NpmPackage[] {
    return [this.dep, this.app]
  }

  /** The packument of `name` as the registry serves it, full or abbreviated. */
  packument (name: string, abbreviated: boolean): Record<string, unknown> {
    const versions = this.#versions.get(name) ?? []
    const modified = '2026-01-02T03:04:05.000Z'
    const latest = { latest: versions[versions.length - 1]?.version }
    const manifests = versions.map((pkg) => {
      const dist = { tarball: this.files.url(pkg.tarballPath.slice(1)), integrity: pkg.integrity, shasum: pkg.shasum }
      const manifest = { name, version: pkg.version, dependencies: pkg.dependencies, dist }
      return [pkg.version, abbreviated ? manifest : { ...manifest, _id: `${name}@${pkg.version}`, main: 'index.js', license: 'MIT', description: `the ${name} fixture` }]
    })
    if (abbreviated) return { name, modified, 'dist-tags': latest, versions: Object.fromEntries(manifests) }
    return {
      _id: name,
      name,
      description: `the ${name} fixture`,
      'dist-tags': latest,
      versions: Object.fromEntries(manifests),
      time: { created: modified, modified, ...Object.fromEntries(versions.map((pkg) => [pkg.version, modified])) },
      license: 'MIT',
      readme: `# ${name}\n`
    }
  }

  /** Packument requests that arrived for `pkg`, abbreviated (by their Accept) or not. */
  packumentHits (pkg: NpmPackage, abbreviated?: boolean): number {
    return this.registry.log.filter((r) => decodeURIComponent(r.path) === `/registry/${pkg.name}` &&
      (abbreviated === undefined || isAbbreviated(r.headers.accept) === abbreviated)).length
  }

  tarballHits (pkg: NpmPackage): number {
    return this.files.hits(pkg.tarballPath)
  }

  /** Serves `pkg`'s tarball with one byte changed (its length kept), or again as it is. */
  tamper (pkg: NpmPackage, on = true): void {
    if (on) this.#tampered.add(pkg.tarballPath)
    else this.#tampered.delete(pkg.tarballPath)
  }

  /** Closes both servers: every later connection is refused. */
  async stop (): Promise<void> {
    await Promise.all([this.registry.close(), this.files.close()])
  }

  #packument (name: string, req: IncomingMessage, res: ServerResponse): void {
    const abbreviated = isAbbreviated(req.headers.accept)
    const body = JSON.stringify(this.packument(name, abbreviated))
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`
    const headers = { etag, vary: 'Accept', 'content-type': abbreviated ? 'application/vnd.npm.install-v1+json' : 'application/json' }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers)
      res.end()
      return
    }
    res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  #tarball (pkg: NpmPackage, req: IncomingMessage, res: ServerResponse): void {
    let body = pkg.tarball
    if (this.#tampered.has(pkg.tarballPath)) {
      body = Buffer.from(body)
      body[body.length >> 1] ^= 0xff
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}

function isAbbreviated (accept: string | undefined): boolean {
  return accept?.includes('application/vnd.npm.install-v1+json') === true
}
