/** npm's install metadata (npm-registry-fetch sends it first in its Accept). */
export const ABBREVIATED_TYPE = 'application/vnd.npm.install-v1+json'

/** What a registry is asked with for each representation. */
export const UPSTREAM_ACCEPT = Object.freeze({
  abbreviated: `${ABBREVIATED_TYPE}; q=1.0, application/json; q=0.8, */*`,
  full: 'application/json'
})

export type PackumentKind = keyof typeof UPSTREAM_ACCEPT

/** The representation a client's Accept asks for: the abbreviated packument when it lists it with q > 0. */
export function packumentKind (accept: string | undefined): PackumentKind {
  if (accept === undefined) return 'full'
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim())
    if (type.toLowerCase() !== ABBREVIATED_TYPE) continue
    const q = params.find((p) => /^q\s*=/i.test(p))
    return q === undefined || Number(q.split('=')[1]) > 0 ? 'abbreviated' : 'full'
  }
  return 'full'
}

/**
 * The variant of a packument fetched only for the tarball paths it binds (`ensureMetadata`:
 * a tarball asked before any packument listed it). Abbreviated, the smallest document that
 * lists every version's `dist`; no origin, so requests under any Host share its one copy, its
 * one upstream fetch and its remembered 404. Its tarball URLs are root-relative: no client is
 * ever served this copy (a client's variant always names an origin).
 */
export const BINDINGS_VARIANT = 'bindings'

/** A packument's variant: its representation and the origin its tarball URLs name. */
export function packumentVariant (kind: PackumentKind, origin: string): string {
  return `${kind} ${origin}`
}

/** The representation and origin of a variant `packumentVariant` made, or null. */
export function parsePackumentVariant (variant: string): { kind: PackumentKind, origin: string } | null {
  const space = variant.indexOf(' ')
  const kind = variant.slice(0, space)
  if (space === -1 || (kind !== 'abbreviated' && kind !== 'full')) return null
  return { kind, origin: variant.slice(space + 1) }
}
