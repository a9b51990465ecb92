import { ValidationError } from '../errors'
import { REMOTE_DEFAULTS } from '../schemas/limits'
import type { UpdateRemoteInput } from '../schemas/remotes'
import type { RemoteColumns } from '../storage/remotes'

/** What reading a remote back shows instead of each header value. */
export const MASK = '***' as const

/** RFC 9110 5.1: a header name is a token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/*
 * Headers the middleware itself controls for every upstream request, or that describe a
 * connection rather than a request; a remote may not set them.
 */
const RESERVED_HEADERS = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'content-length', 'expect', 'via', 'range', 'if-range', 'accept-encoding', 'proxy-authorization'
])

/** A URL the schema passed as a string of the right length: parsed, http(s), a host, credentials only if allowed. */
function httpUrl (value: string, field: string, allowCredentials: boolean): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ValidationError(`"${field}" is not a valid URL: ${JSON.stringify(maskUrl(value))}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`"${field}" must be an http or https URL, got the scheme "${url.protocol.slice(0, -1)}"`)
  }
  if (url.hostname === '') throw new ValidationError(`"${field}" has no host`)
  if (!allowCredentials && (url.username !== '' || url.password !== '')) {
    // A URL is shown when the remote is read back and may land in logs; headers are masked.
    throw new ValidationError(`"${field}" may not carry credentials: send them in "headers" (for example "Authorization")`)
  }
  return value
}

/**
 * Header names (lower-cased) and values. On update, a value of `"***"` keeps the current
 * value of that header, so a remote read back and sent again keeps its secrets.
 */
function headers (
  value: Readonly<Record<string, string>> | null | undefined,
  current: Readonly<Record<string, string>> | undefined
): Record<string, string> | undefined {
  if (value === undefined) return undefined
  if (value === null) return {}
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(value)) {
    const lower = name.toLowerCase()
    if (!TOKEN.test(name)) throw new ValidationError(`"headers": ${JSON.stringify(name)} is not a valid header name`)
    if (RESERVED_HEADERS.has(lower)) throw new ValidationError(`"headers": "${lower}" is set by pulp-middleware itself and may not be given`)
    if (Object.hasOwn(out, lower)) throw new ValidationError(`"headers": "${lower}" is given twice`)
    if (v === MASK && current !== undefined) {
      if (!Object.hasOwn(current, lower)) throw new ValidationError(`"headers": "${lower}" is "${MASK}" but the remote has no such header to keep`)
      out[lower] = current[lower]
      continue
    }
    // RFC 9110 5.5: no CR, LF or NUL; other controls (but tab) are refused as well.
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (v.length > 8192 || /[\0-\x08\x0a-\x1f\x7f]/.test(v)) {
      throw new ValidationError(`"headers": the value of "${lower}" must be at most 8192 characters without control characters`)
    }
    out[lower] = v
  }
  return out
}

/**
 * The columns of a remote from its checked fields (see schemas/remotes.ts): the rules that need
 * more than the value, and the defaults of a new remote. `current` is the stored remote on
 * update: only the fields given are returned.
 */
export function remoteColumns (
  body: UpdateRemoteInput,
  current: RemoteColumns | undefined,
  isRemoteType: (id: string) => boolean,
  registered: () => string[]
): Partial<RemoteColumns> {
  const creating = current === undefined
  const out: Partial<RemoteColumns> = {}
  if (body.url !== undefined) out.url = keptIfMasked(body.url, current?.url) ?? httpUrl(body.url, 'url', false)
  if (body.remoteTypeId !== undefined || creating) {
    const id = body.remoteTypeId ?? 'file'
    if (!isRemoteType(id)) {
      throw new ValidationError(`"remote_type_id" ${JSON.stringify(id)} is not a registered remote type (registered: ${registered().join(', ') || 'none'})`)
    }
    out.remoteTypeId = id
  }
  const h = headers(body.headers, current?.headers)
  if (h !== undefined) out.headers = h
  else if (creating) out.headers = {}
  if (body.proxyUrl !== undefined) {
    out.proxyUrl = body.proxyUrl === null ? null : keptIfMasked(body.proxyUrl, current?.proxyUrl) ?? httpUrl(body.proxyUrl, 'proxy_url', true)
  } else if (creating) {
    out.proxyUrl = null
  }
  // Never none: a silent upstream must not hold its clients (null restores the default).
  if (body.readTimeout !== undefined || creating) out.readTimeout = body.readTimeout ?? REMOTE_DEFAULTS.readTimeout
  for (const key of ['policy', 'connectTimeout', 'totalTimeout', 'tlsValidation', 'negativeCacheTtl', 'metadataPatterns', 'metadataTtl', 'staleIfError', 'maxFailures'] as const) {
    const value = body[key]
    if (value !== undefined) (out as Record<string, unknown>)[key] = value
    else if (creating) (out as Record<string, unknown>)[key] = NEW_REMOTE[key]
  }
  return out
}

/** What a new remote has for a field it was not given. */
const NEW_REMOTE = Object.freeze({
  policy: 'on_demand',
  connectTimeout: null,
  totalTimeout: null,
  tlsValidation: true,
  negativeCacheTtl: REMOTE_DEFAULTS.negativeCacheTtl,
  metadataPatterns: null,
  metadataTtl: REMOTE_DEFAULTS.metadataTtl,
  staleIfError: REMOTE_DEFAULTS.staleIfError,
  maxFailures: REMOTE_DEFAULTS.maxFailures
} satisfies Partial<RemoteColumns>)

/** Every header value as `"***"`. */
export function maskHeaders (h: Readonly<Record<string, string>>): Record<string, typeof MASK> {
  const out: Record<string, typeof MASK> = {}
  for (const name of Object.keys(h)) out[name] = MASK
  return out
}

/** A proxy URL with its credentials masked (see maskUrl). */
export function maskProxyUrl (value: string | null): string | null {
  return value === null ? null : maskUrl(value)
}

/**
 * A URL as it may be shown (read back, or quoted in an error): its password (or a user name
 * alone, often a token) and the value of every query parameter (`?token=...`) as `"***"`:
 * `https://user:***@host/?token=***`. A string that is no URL is masked the same way by its
 * text. A URL with nothing to mask is returned as it was given.
 */
export function maskUrl (value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return maskUrlText(value)
  }
  let masked = false
  if (url.password !== '') {
    url.password = MASK
    masked = true
  } else if (url.username !== '') {
    url.username = MASK
    masked = true
  }
  if (url.search.length > 1) {
    url.search = maskQuery(url.search.slice(1))
    masked = true
  }
  if (url.hash.length > 1) {
    url.hash = maskQuery(url.hash.slice(1))
    masked = true
  }
  return masked ? url.toString() : value
}

/** Each `name=value` as `name=***`; a part without "=" (it may be a token itself) as `***`. */
function maskQuery (query: string): string {
  return query.split('&').map((part) => {
    const eq = part.indexOf('=')
    return eq === -1 ? (part === '' ? part : MASK) : `${part.slice(0, eq + 1)}${MASK}`
  }).join('&')
}

/** maskUrl for a string the URL parser refuses: userinfo up to the last "@", query and fragment. */
function maskUrlText (value: string): string {
  const end = value.search(/[?#]/)
  const head = end === -1 ? value : value.slice(0, end)
  const tail = end === -1 ? '' : value.slice(end)
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*/.exec(head)?.[0] ?? ''
  const rest = head.slice(scheme.length)
  const slash = rest.search(/[/\\]/)
  const authority = slash === -1 ? rest : rest.slice(0, slash)
  const at = authority.lastIndexOf('@')
  let shown = head
  if (at !== -1) {
    const userinfo = authority.slice(0, at)
    const colon = userinfo.indexOf(':')
    shown = scheme + (colon === -1 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`) + rest.slice(at)
  }
  return shown + tail.replace(/([?#])([^?#]*)/g, (_, mark: string, query: string) => mark + maskQuery(query))
}

/**
 * On update, a URL sent back exactly as it was read (masked) keeps the stored one, as a header
 * sent back as `"***"` does: a client that reads a remote and writes it back loses no secret.
 */
function keptIfMasked (value: unknown, current: string | null | undefined): string | undefined {
  if (typeof value !== 'string' || current === undefined || current === null) return undefined
  const masked = maskUrl(current)
  return masked !== current && value === masked ? current : undefined
}
