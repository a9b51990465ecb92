import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { TestContext } from 'node:test'
import { AptClient, type AptRepo, type AptResult, type DebSpec } from './apt'
import type { PullThroughFixture } from './upstream-pulp'
import type { UpstreamServer } from './upstream-server'

/**
 * An apt repository served by a real upstream server under `/<dir>`: `publish` switches it to
 * another generation at once (as an archive's mirror push does), paths missing from the
 * current one answer 404. Answers carry an ETag and honour If-None-Match, so a revalidation
 * of an unchanged file is a 304.
 */
export class AptUpstream {
  #files: Readonly<Record<string, Buffer>> = {}
  readonly #routed = new Set<string>()

  constructor (readonly server: UpstreamServer, readonly dir = 'repo') {}

  /** The remote's `url`. */
  url (): string {
    return this.server.url(`${this.dir}/`)
  }

  /** The upstream path of a repository file, as the server's log has it. */
  path (relativePath: string): string {
    return `/${this.dir}/${relativePath}`
  }

  /** Requests that reached the upstream for `relativePath`. */
  hits (relativePath: string): number {
    return this.server.hits(this.path(relativePath), 'GET')
  }

  /** Serves these files from now on (keyed by path relative to the repository root). */
  publish (files: Readonly<Record<string, Buffer>>): void {
    this.#files = { ...files }
    for (const rel of Object.keys(files)) {
      if (this.#routed.has(rel)) continue
      this.#routed.add(rel)
      this.server.on(this.path(rel), (req, res) => {
        const body = this.#files[rel]
        if (body === undefined) {
          res.writeHead(404, { 'content-type': 'text/plain' })
          return void res.end('not in this generation\n')
        }
        const etag = `"${createHash('sha256').update(body).digest('hex')}"`
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end()
        res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream', etag })
        res.end(req.method === 'HEAD' ? undefined : body)
      })
    }
  }
}

/** A package `hello` of this version: one small file that says it. */
export function hello (version: string): DebSpec {
  return { name: 'hello', version, files: { 'usr/share/hello/version': `${version}\n` } }
}

/** apt's output in the test's diagnostics: what it fetched is part of what a test shows. */
export function showApt (t: TestContext, what: string, result: AptResult): void {
  t.diagnostic(`${what}: exit ${result.code}`)
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) if (line.trim() !== '') t.diagnostic(`  ${line}`)
}

/**
 * `apt-get update` exits 0 with no error, no failed fetch, no size or hash mismatch. The one
 * warning allowed: the test key of a signed upstream is unknown to apt (`[trusted=yes]`).
 */
export async function assertUpdates (t: TestContext, client: AptClient, what: string): Promise<AptResult> {
  const result = await client.update()
  showApt(t, what, result)
  assert.equal(result.code, 0, result.stdout + result.stderr)
  const output = (result.stdout + result.stderr).split('\n').filter((line) => !/^W: GPG error: .*NO_PUBKEY/.test(line)).join('\n')
  assert.doesNotMatch(output, /unexpected size|Hash Sum mismatch|Mirror sync in progress|^([WE]|Err):/m)
  return result
}

/** `apt-get download hello` leaves exactly the bytes the upstream built for `version` (in `dir` of the repository). */
export async function assertDownloads (t: TestContext, client: AptClient, repo: AptRepo, version: string, dir = 'pool/main/'): Promise<void> {
  const got = await client.download('hello')
  showApt(t, `download hello (${version})`, got)
  assert.equal(got.code, 0, got.stderr)
  const name = `hello_${version}_all.deb`
  assert.deepEqual(Object.keys(got.files), [name])
  assert.ok(got.files[name].equals(repo.files[`${dir}${name}`]), `${name}: the bytes the upstream built`)
}

/** An upstream repository mirrored through a `deb` remote and a distribution, and an apt client of it. */
export interface MirroredRepo {
  upstream: AptUpstream
  client: AptClient
  /** The repository URL through the distribution, for a sources.list line. */
  url: string
}

/**
 * Serves `repo` from the fixture's upstream under `/<name>/`, mirrors it at base path `name`
 * with a `deb` remote whose metadata stays fresh `ttl` seconds, and makes a client for it.
 */
export async function mirrorRepo (f: PullThroughFixture, name: string, repo: AptRepo, ttl: number): Promise<MirroredRepo> {
  const upstream = new AptUpstream(f.upstream, name)
  upstream.publish(repo.files)
  await f.wire(name, { dir: `${name}/`, remoteTypeId: 'deb', metadataTtl: ttl })
  const url = `http://127.0.0.1:${f.port}/pulp/content/${name}`
  return { upstream, client: await AptClient.create([repo.sourcesLine(url)]), url }
}
