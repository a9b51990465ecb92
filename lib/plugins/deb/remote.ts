import path from 'node:path/posix'
import createDebug from 'debug'
import { Remote, type Freshness, type UpstreamContext, type UpstreamTarget } from '../remote'
import type { TypeMetadata } from '../types'
import { parseRelease, type AptRelease, type ReleaseEntry } from './release'
import { byHashDigest, debPathClass, RELEASE_FILES, releaseDirs } from './paths'

const debug = createDebug('pulp:plugins:deb')

// Parsed Release files kept per remote: a Debian suite's is 100 KiB and more, and every index
// request of an update reads it again.
const PARSED_KEPT = 4

interface Listing {
  /** The Release's directory, trailing slash included. */
  dir: string
  release: AptRelease
  entry: ReleaseEntry
}

/**
 * The built-in `deb` remote type: an apt repository (`dists/` + `pool/`, or flat).
 *
 * Freshness: `dists/**` is metadata but `by-hash/**`, which is content-addressed like
 * `pool/**`; outside `dists/` the Release files and index names of a flat repository are
 * metadata too, everything else is immutable. The remote's `metadata_patterns`, when set,
 * add metadata paths on top; they never make a deb metadata path immutable.
 *
 * Consistency: an index file is fetched and served only with the SHA256 that the Release apt
 * reads lists for it (the cached `InRelease` when there is one, since apt reads `Release`
 * only when `InRelease` is missing; else the cached `Release`). A copy of another generation
 * is refetched; when that Release says `Acquire-By-Hash: yes` the refetch asks for the
 * upstream's `by-hash/SHA256/<hex>` copy, so it gets the bytes of the cached generation even
 * after the upstream moved on.
 *
 * @example
 * await pulp.remotes.create({ name: 'debian', url: 'http://deb.debian.org/debian/', remoteTypeId: 'deb' })
 */
export class DebRemote extends Remote {
  readonly #parsed: Array<{ path: string, body: Buffer, release: AptRelease | null }> = []

  static metadata (): TypeMetadata {
    return { id: 'deb', displayName: 'APT repository (deb)' }
  }

  /** The `streamed` policy still streams everything; `metadata_patterns` only add metadata. */
  override getFreshness (relativePath: string): Freshness {
    const base = super.getFreshness(relativePath)
    return base === 'immutable' && debPathClass(relativePath) === 'metadata' ? 'metadata' : base
  }

  override async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    const plain = { url: this.getRemoteArtifactUrl(relativePath, context.request) }
    const named = byHashDigest(relativePath)
    if (named !== null) return { ...plain, digest: named }
    if (debPathClass(relativePath) !== 'metadata') return plain
    const listing = await this.#listing(relativePath, context)
    if (listing === null) return plain
    const { dir, release, entry } = listing
    const digest = { algorithm: 'sha256' as const, hex: entry.sha256 }
    if (!release.acquireByHash) return { ...plain, digest }
    const byHash = path.join(path.dirname(relativePath), 'by-hash', 'SHA256', entry.sha256)
    debug('%s: %s of %s is %s', this.name, relativePath, dir, byHash)
    return { url: this.getRemoteArtifactUrl(byHash, context.request), digest }
  }

  /** The entry for `relativePath` in the nearest cached Release that lists it. */
  async #listing (relativePath: string, context: UpstreamContext): Promise<Listing | null> {
    const own = path.dirname(relativePath) + '/'
    const isRelease = RELEASE_FILES.has(path.basename(relativePath))
    for (const dir of releaseDirs(relativePath)) {
      // A Release is checked against the one above it (`main/binary-all/Release`), not itself.
      if (isRelease && (dir === own || (dir === '' && own === './'))) continue
      const release = await this.#release(dir, context)
      const entry = release?.sha256.get(relativePath.slice(dir.length))
      if (release !== null && entry !== undefined) return { dir, release, entry }
    }
    return null
  }

  /** The Release apt reads in `dir`: the cached InRelease, else the cached Release. */
  async #release (dir: string, context: UpstreamContext): Promise<AptRelease | null> {
    for (const name of ['InRelease', 'Release']) {
      const file = dir + name
      const body = await context.readCachedMetadata(file)
      if (body === null) continue
      return this.#parse(file, body)
    }
    return null
  }

  #parse (file: string, body: Buffer): AptRelease | null {
    const kept = this.#parsed.find((p) => p.path === file && p.body.equals(body))
    if (kept !== undefined) return kept.release
    const release = parseRelease(body)
    this.#parsed.unshift({ path: file, body, release })
    this.#parsed.length = Math.min(this.#parsed.length, PARSED_KEPT)
    return release
  }
}
