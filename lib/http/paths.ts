import { NotFoundError, ValidationError, type PulpError } from '../errors'

/** Linux NAME_MAX and PATH_MAX: longer names cannot exist, so they are not found. */
const MAX_SEGMENT_BYTES = 255
const MAX_PATH_BYTES = 4096

/** A request path that can be served: its decoded segments, and whether it ended in "/". */
export interface RequestPath {
  segments: string[]
  trailingSlash: boolean
  /**
   * Set when one segment was an npm scoped name with its slash encoded (`@scope%2fname`): the
   * index in `segments` of its `@scope` half, `name` following it. Only a remote type whose
   * class says `acceptsScopedNames()` serves such a path; everything else refuses it (400).
   */
  scopedName?: number
}

export interface ParseOptions {
  /** Accept one `@scope%2fname` segment, split in two and marked by `scopedName` (default false). */
  scopedNames?: boolean
}

// An npm scope and name as the registry allows them (URL-safe, no leading dot or underscore),
// with the one encoded slash between them, `%2f` or `%2F`.
const SCOPED_NAME = /^@([a-z0-9~-][a-z0-9._~-]*)%2[fF]([a-z0-9~-][a-z0-9._~-]*)$/i

/** The message of every encoded separator refused, the scoped name of a route that does not take one included. */
export const ENCODED_SEPARATOR = 'encoded separators are not allowed in paths'

export type ParsedPath =
  | ({ ok: true } & RequestPath)
  | { ok: false, error: PulpError }

/**
 * Decodes a request pathname (as in `req.path`: still percent-encoded, starting with `/`)
 * into the segments of a path that cannot leave the tree it is joined to.
 *
 * Malformed percent-encoding (including overlong UTF-8, which `decodeURIComponent`
 * refuses) and NUL are 400. `..` segments, slashes or backslashes that appear only after
 * decoding, and raw backslashes are 400 too: no legitimate client sends them, and on some
 * platforms a backslash is a separator. Empty segments are merged, as nginx does, since
 * clients that join URLs carelessly send `a//b`; `.` segments (also `%2e`) are dropped, as
 * nginx merges them, since apt asks a flat repository (`deb URL ./`) for `URL/./InRelease`.
 * A path ending in a `.` segment names a directory, so it counts as ending in a slash.
 *
 * With `scopedNames`, the one exception: a segment that is exactly an npm scoped name with
 * its slash encoded (`@scope%2fname`, what npm asks a registry for) becomes the two segments
 * `@scope`, `name`, and `scopedName` says where; whoever serves the path decides whether it
 * takes such a name (see `Remote.acceptsScopedNames`).
 */
export function parseRequestPath (pathname: string, options: ParseOptions = {}): ParsedPath {
  if (pathname.length === 0 || pathname.charCodeAt(0) !== 0x2f) {
    return invalid('the path must start with "/"')
  }
  if (pathname.includes('\\')) return invalid('backslashes are not allowed in paths')

  const raw = pathname.split('/')
  const segments: string[] = []
  let bytes = 0
  let endsInDot = false
  let scopedName: number | undefined
  for (const part of raw) {
    endsInDot = false
    if (part.length === 0) continue
    const scoped = options.scopedNames === true && part.charCodeAt(0) === 0x40 ? SCOPED_NAME.exec(part) : null
    if (scoped !== null) {
      // One per path: a registry path names one package.
      if (scopedName !== undefined) return invalid(ENCODED_SEPARATOR)
      if (part.length > MAX_SEGMENT_BYTES) return notFound()
      scopedName = segments.length
      // Both halves are plain (no dot segment can match), so they only add to the length.
      bytes += part.length
      if (bytes > MAX_PATH_BYTES) return notFound()
      segments.push(`@${scoped[1]}`, scoped[2])
      continue
    }
    let name = part
    if (part.includes('%')) {
      try {
        name = decodeURIComponent(part)
      } catch {
        return invalid('malformed percent-encoding in the path')
      }
    }
    if (name.includes('\0')) return invalid('NUL is not allowed in paths')
    // Only reachable through encoding (%2f, %5c): a separator hidden from the router.
    if (name.includes('/') || name.includes('\\')) return invalid(ENCODED_SEPARATOR)
    if (name === '..') return invalid('dot-dot segments are not allowed in paths')
    if (name === '.') { endsInDot = true; continue }
    // Any UTF-16 unit is at most 3 UTF-8 bytes, so short names skip the byte count.
    const size = name.length * 3 > MAX_SEGMENT_BYTES ? Buffer.byteLength(name) : name.length
    if (size > MAX_SEGMENT_BYTES) return notFound()
    bytes += size + 1
    if (bytes > MAX_PATH_BYTES) return notFound()
    segments.push(name)
  }
  const trailingSlash = endsInDot || pathname.charCodeAt(pathname.length - 1) === 0x2f
  return scopedName === undefined ? { ok: true, segments, trailingSlash } : { ok: true, segments, trailingSlash, scopedName }
}

function invalid (message: string): ParsedPath {
  return { ok: false, error: new ValidationError(message) }
}

function notFound (): ParsedPath {
  return { ok: false, error: new NotFoundError('not found') }
}

/** The pathname and query (with its `?`) of a request target, whatever its form. */
export function splitTarget (target: string): { pathname: string, query: string } {
  // An absolute-form target (`GET http://host/x`) loses its scheme and host, so that a
  // redirect built from it stays on this server.
  let full = target
  if (!target.startsWith('/')) {
    try {
      const url = new URL(target)
      full = url.pathname + url.search
    } catch {
      full = '/'
    }
  }
  const q = full.indexOf('?')
  return q === -1 ? { pathname: full, query: '' } : { pathname: full.slice(0, q), query: full.slice(q) }
}

/**
 * A Location for "the same path with a trailing slash", query kept. Leading slashes and
 * backslashes collapse to one `/`: browsers read `//host` and `/\host` as another host.
 */
export function slashRedirectLocation (target: string): string {
  const { pathname, query } = splitTarget(target)
  const safe = pathname.replace(/^[/\\]+/, '/')
  return (safe.endsWith('/') ? safe : safe + '/') + query
}

/** The decoded pathname of a request target, for display; the raw one if it does not decode. */
export function displayPathOf (target: string): string {
  const { pathname } = splitTarget(target)
  try {
    return decodeURIComponent(pathname)
  } catch {
    return pathname
  }
}
