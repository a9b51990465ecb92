/**
 * Which paths of an apt repository change in place. apt addresses packages by name and
 * version, and index files by the hashes a Release lists; only the Release files and the
 * plain-named indexes beside them are rewritten when the upstream publishes.
 */

export type DebPathClass = 'immutable' | 'metadata'

/** The files that name a generation: what every index is checked against. */
export const RELEASE_FILES: ReadonlySet<string> = new Set(['InRelease', 'Release', 'Release.gpg'])

// Index names apt fetches from a flat repository (`deb URI dir/`), compressed or not.
const FLAT_INDEX = /^(?:Packages|Sources|(?:Contents|Translation|Components|Commands|icons)-[^/]+)(?:\.(?:gz|xz|bz2|lzma|zst|lz4))?$/

/** A `.../by-hash/<ALGO>/<hex>` path: content-addressed, so never stale. */
function byHashIndex (segments: readonly string[]): number {
  const at = segments.lastIndexOf('by-hash')
  return at >= 1 && at === segments.length - 3 ? at : -1
}

/**
 * `dists/**` is metadata except `by-hash` copies; outside `dists/`, only the Release files
 * and index names of a flat repository are (they sit beside the packages there). Everything
 * else, `pool/**` first, is immutable: a package never changes under its name and version.
 */
export function debPathClass (relativePath: string): DebPathClass {
  const segments = relativePath.split('/')
  if (byHashIndex(segments) !== -1) return 'immutable'
  if (segments[0] === 'dists' && segments.length > 1) return 'metadata'
  const name = segments[segments.length - 1]
  return RELEASE_FILES.has(name) || FLAT_INDEX.test(name) ? 'metadata' : 'immutable'
}

export type ByHashAlgorithm = 'sha256' | 'sha512' | 'sha1'

const BY_HASH: Record<string, { algorithm: ByHashAlgorithm, length: number }> = {
  SHA256: { algorithm: 'sha256', length: 64 },
  SHA512: { algorithm: 'sha512', length: 128 },
  SHA1: { algorithm: 'sha1', length: 40 }
}

/** The digest a by-hash path names, or null (not by-hash, MD5Sum, or not a hex digest). */
export function byHashDigest (relativePath: string): { algorithm: ByHashAlgorithm, hex: string } | null {
  const segments = relativePath.split('/')
  const at = byHashIndex(segments)
  if (at === -1) return null
  const kind = BY_HASH[segments[at + 1]]
  const hex = segments[at + 2].toLowerCase()
  if (kind === undefined || hex.length !== kind.length || !/^[0-9a-f]+$/.test(hex)) return null
  return { algorithm: kind.algorithm, hex }
}

/**
 * The directories whose Release may list `relativePath`, shallowest first, each with a
 * trailing slash ('' for the root): `dists/<suite>/` and below for the standard layout (a
 * suite may have slashes, `dists/stable/updates/`), every ancestor for a flat repository.
 */
export function releaseDirs (relativePath: string): string[] {
  const segments = relativePath.split('/').slice(0, -1)
  const first = segments[0] === 'dists' ? 2 : 0
  const dirs: string[] = []
  for (let depth = first; depth <= segments.length; depth++) {
    dirs.push(depth === 0 ? '' : segments.slice(0, depth).join('/') + '/')
  }
  return dirs
}
