import type { Freshness, UpstreamDigest } from '../plugins/remote'
import type { PullEntry } from '../storage/pull-entries'
import type { RemoteArtifact } from '../storage/remote-artifacts'
import type { StoredRemote } from '../storage/remotes'

/** A copy in the store that may answer a request. */
export interface Copy {
  sha256: string
  contentType: string | null
  contentEncoding: string | null
  /** When the upstream last vouched for it (metadata); undefined for an immutable artifact. */
  fetched?: number
}

/** What may answer in place of the upstream when it fails (or is down): a copy, or a 404 it gave. */
export type Fallback = { kind: 'copy', copy: Copy, fetched: number } | { kind: 'not-found', fetched: number }

/** The validators of the copy a conditional request revalidates. */
export interface Validators { etag: string | null, lastModified: string | null }

/**
 * What to do with a path, decided in one place from what the store and the database hold:
 * - `hit`: serve `copy` (with `age` in seconds for metadata);
 * - `not-found`: a 404 remembered and still fresh;
 * - `fetch`: go upstream, conditionally when `validators` are given; `fallback` answers if the
 *   upstream fails (within `stale_if_error` of expiry) or is down.
 */
export type Decision =
  | { action: 'hit', copy: Copy, age?: number, ttl?: number }
  | { action: 'not-found', age: number }
  | { action: 'fetch', validators?: Validators, fallback?: Fallback }

export interface Known {
  freshness: Freshness
  /** The remote's immutable artifact at this path, if any. */
  artifact?: RemoteArtifact
  /** The path's metadata copy or remembered 404, if any. */
  entry?: PullEntry
  digest?: UpstreamDigest
  now: number
}

/** Whether stored bytes (their sha256, and the digest they were verified against) satisfy an index's digest. */
export function matchesDigest (sha256: string, verified: string | null | undefined, digest: UpstreamDigest | undefined): boolean {
  if (digest === undefined) return true
  const hex = digest.hex.toLowerCase()
  return digest.algorithm === 'sha256' ? sha256 === hex : verified === `${digest.algorithm}:${hex}`
}

export function digestLabel (digest: UpstreamDigest | undefined): string | null {
  return digest === undefined ? null : `${digest.algorithm}:${digest.hex.toLowerCase()}`
}

function fallbackOf (remote: StoredRemote, entry: PullEntry, expires: number, now: number): Fallback | undefined {
  if (now >= expires + remote.staleIfError * 1000) return undefined
  if (entry.status === 404) return { kind: 'not-found', fetched: entry.fetched }
  return { kind: 'copy', copy: copyOf(entry), fetched: entry.fetched }
}

function copyOf (entry: PullEntry): Copy {
  return { sha256: entry.sha256 as string, contentType: entry.contentType, contentEncoding: entry.contentEncoding, fetched: entry.fetched }
}

/** A path's state for this request: fresh, expired (revalidate), stale-able, remembered missing, or unknown. */
/** When a metadata copy stops being fresh (ms): `metadata_ttl` after it was fetched. */
export function copyExpires (remote: StoredRemote, entry: PullEntry): number {
  return entry.fetched + remote.metadataTtl * 1000
}

export function decide (remote: StoredRemote, known: Known): Decision {
  const { freshness, artifact, entry, digest, now } = known
  if (freshness === 'immutable' && artifact !== undefined && matchesDigest(artifact.sha256, artifact.digest, digest)) {
    return { action: 'hit', copy: { sha256: artifact.sha256, contentType: artifact.contentType, contentEncoding: artifact.contentEncoding } }
  }
  if (entry === undefined) return { action: 'fetch' }
  const age = Math.max(0, Math.floor((now - entry.fetched) / 1000))
  if (entry.status === 404) {
    const expires = entry.fetched + (remote.negativeCacheTtl ?? 0) * 1000
    if (now < expires) return { action: 'not-found', age }
    return { action: 'fetch', fallback: fallbackOf(remote, entry, expires, now) }
  }
  // A copy the index disagrees with is another generation: fetched again, never served.
  if (freshness !== 'metadata' || entry.sha256 === null || !matchesDigest(entry.sha256, entry.digest, digest)) return { action: 'fetch' }
  const expires = copyExpires(remote, entry)
  if (now < expires) return { action: 'hit', copy: copyOf(entry), age, ttl: Math.floor((expires - now) / 1000) }
  return { action: 'fetch', validators: { etag: entry.etag, lastModified: entry.lastModified }, fallback: fallbackOf(remote, entry, expires, now) }
}

/** RFC 9211 Cache-Status values, this cache's name first. */
export const CACHE_STATUS = Object.freeze({
  hit: (ttl?: number) => ttl === undefined ? 'pulp-middleware; hit' : `pulp-middleware; hit; ttl=${ttl}`,
  miss: (stored: boolean, collapsed: boolean) => `pulp-middleware; fwd=miss${stored ? '; stored' : ''}${collapsed ? '; collapsed' : ''}`,
  /** A stale copy was forwarded (revalidated): 304 keeps it, 200 replaces it. */
  revalidated: (status: number, collapsed: boolean) => `pulp-middleware; fwd=stale; fwd-status=${status}${status === 200 ? '; stored' : ''}${collapsed ? '; collapsed' : ''}`,
  /** The upstream failed (fwd-status when it answered) and a stale copy answered. */
  staleOnError: (status: number | undefined) => `pulp-middleware; fwd=stale${status === undefined ? '' : `; fwd-status=${status}`}; detail=stale-if-error`,
  /** The remote is down: nothing was forwarded. */
  staleWhileDown: () => 'pulp-middleware; hit; detail=upstream-down',
  notFound: () => 'pulp-middleware; hit; detail=not-found',
  failed: (status: number | undefined) => `pulp-middleware; fwd=miss${status === undefined ? '' : `; fwd-status=${status}`}`,
  down: () => 'pulp-middleware; detail=upstream-down'
})
