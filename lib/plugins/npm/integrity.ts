import type { UpstreamDigest } from '../remote'

/** Bytes of each digest npm lists, strongest first; a Subresource Integrity string may hold several. */
const SRI: ReadonlyArray<{ algorithm: UpstreamDigest['algorithm'], bytes: number }> = [
  { algorithm: 'sha512', bytes: 64 },
  { algorithm: 'sha256', bytes: 32 },
  { algorithm: 'sha1', bytes: 20 }
]

/**
 * The digest a tarball must have, from a version's `dist`: the strongest well-formed hash of
 * `dist.integrity` (Subresource Integrity, `sha512-<base64>`, several separated by spaces),
 * else `dist.shasum` (hex sha1), else none.
 */
export function distDigest (dist: unknown): UpstreamDigest | undefined {
  if (typeof dist !== 'object' || dist === null) return undefined
  const { integrity, shasum } = dist as { integrity?: unknown, shasum?: unknown }
  if (typeof integrity === 'string') {
    const hashes = new Map<string, string>()
    for (const token of integrity.trim().split(/\s+/)) {
      // `<algorithm>-<base64>[?options]`: options say nothing about the bytes.
      const match = /^(sha\d+)-([A-Za-z0-9+/]+={0,2})(?:\?.*)?$/.exec(token)
      if (match !== null && !hashes.has(match[1])) hashes.set(match[1], match[2])
    }
    for (const { algorithm, bytes } of SRI) {
      const base64 = hashes.get(algorithm)
      if (base64 === undefined) continue
      const raw = Buffer.from(base64, 'base64')
      if (raw.length === bytes) return { algorithm, hex: raw.toString('hex') }
    }
  }
  if (typeof shasum === 'string' && /^[0-9a-fA-F]{40}$/.test(shasum)) return { algorithm: 'sha1', hex: shasum.toLowerCase() }
  return undefined
}
