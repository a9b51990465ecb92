import { ValidationError } from '../errors'
import type { RemotePolicy } from '../plugins/remote'
import { DEFAULT_READ_TIMEOUT, type RemoteColumns } from '../storage/remotes'

/** What reading a remote back shows instead of each header value. */
export const MASK = '***'

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

/** setTimeout's limit, in seconds. */
const MAX_SECONDS = 2_147_483

const POLICIES: readonly RemotePolicy[] = ['on_demand', 'streamed']

/** Defaults of a new remote's freshness fields (seconds, and a count). */
export const DEFAULT_FRESHNESS = Object.freeze({ negativeCacheTtl: 60, metadataTtl: 300, staleIfError: 86_400, maxFailures: 5 })

function httpUrl (value: unknown, field: string, allowCredentials: boolean): string {
  if (typeof value !== 'string' || value === '') throw new ValidationError(`"${field}" must be a non-empty http or https URL`)
  if (value.length > 2048) throw new ValidationError(`"${field}" must be at most 2048 characters`)
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

function seconds (value: unknown, field: string, { zero }: { zero: boolean }): number | null | undefined {
  if (value === undefined || value === null) return value
  if (typeof value !== 'number' || !Number.isFinite(value) || (zero ? value < 0 : value <= 0)) {
    throw new ValidationError(`"${field}" must be a number of seconds ${zero ? '>= 0' : '> 0'}, or null`)
  }
  if (value > MAX_SECONDS) throw new ValidationError(`"${field}" must be at most ${MAX_SECONDS} seconds`)
  return value
}

/** Whole counts such as `max_failures`. */
function count (value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new ValidationError(`"${field}" must be a whole number from 1 to 1000000`)
  }
  return value
}

/** Seconds that must be given (no null): 0 allowed. */
function requiredSeconds (value: unknown, field: string): number | undefined {
  if (value === null) throw new ValidationError(`"${field}" must be a number of seconds >= 0`)
  return seconds(value, field, { zero: true }) ?? undefined
}

/** Globs over relative paths; null restores the remote type's default. */
function metadataPatterns (value: unknown): string[] | null | undefined {
  if (value === undefined || value === null) return value
  if (!Array.isArray(value) || value.length > 256) throw new ValidationError('"metadata_patterns" must be an array of at most 256 glob strings, or null')
  return value.map((p: unknown) => {
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (typeof p !== 'string' || p === '' || p.length > 1024 || p.startsWith('/') || /[\0-\x1f\x7f]/.test(p)) {
      throw new ValidationError(`"metadata_patterns": ${JSON.stringify(p)} must be a relative path glob (no leading "/", at most 1024 characters, no control characters)`)
    }
    return p
  })
}

/**
 * Header names (lower-cased) and values. On update, a value of `"***"` keeps the current
 * value of that header, so a remote read back and sent again keeps its secrets.
 */
function headers (value: unknown, current: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined
  if (value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('"headers" must be a JSON object of header names to string values')
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(value)) {
    const lower = name.toLowerCase()
    if (!TOKEN.test(name)) throw new ValidationError(`"headers": ${JSON.stringify(name)} is not a valid header name`)
    if (RESERVED_HEADERS.has(lower)) throw new ValidationError(`"headers": "${lower}" is set by pulp-middleware itself and may not be given`)
    if (Object.hasOwn(out, lower)) throw new ValidationError(`"headers": "${lower}" is given twice`)
    if (typeof v !== 'string') throw new ValidationError(`"headers": the value of "${lower}" must be a string`)
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
 * Validates the fields of a remote (camelCase, as `fromWire` gives them). `current` is the
 * stored remote on update: only the fields given are returned.
 */
export function remoteColumns (
  body: Record<string, unknown>,
  current: RemoteColumns | undefined,
  isRemoteType: (id: string) => boolean,
  registered: () => string[]
): Partial<RemoteColumns> {
  const out: Partial<RemoteColumns> = {}
  if (body.url !== undefined || current === undefined) out.url = keptIfMasked(body.url, current?.url) ?? httpUrl(body.url, 'url', false)
  if (body.remoteTypeId !== undefined || current === undefined) {
    const id = body.remoteTypeId ?? 'file'
    if (typeof id !== 'string' || !isRemoteType(id)) {
      throw new ValidationError(`"remote_type_id" ${JSON.stringify(id)} is not a registered remote type (registered: ${registered().join(', ') || 'none'})`)
    }
    out.remoteTypeId = id
  }
  const h = headers(body.headers, current?.headers)
  if (h !== undefined) out.headers = h
  else if (current === undefined) out.headers = {}
  if (body.policy !== undefined || current === undefined) {
    const policy = body.policy ?? 'on_demand'
    if (!POLICIES.includes(policy as RemotePolicy)) {
      throw new ValidationError(`"policy" must be one of ${POLICIES.map((p) => `"${p}"`).join(', ')}, got ${JSON.stringify(policy)}`)
    }
    out.policy = policy as RemotePolicy
  }
  for (const [key, field] of [['connectTimeout', 'connect_timeout'], ['totalTimeout', 'total_timeout']] as const) {
    const v = seconds(body[key], field, { zero: false })
    if (v !== undefined) out[key] = v
    else if (current === undefined) out[key] = null
  }
  // Never none: a silent upstream must not hold its clients (null restores the default).
  const read = seconds(body.readTimeout, 'read_timeout', { zero: false })
  if (read !== undefined || current === undefined) out.readTimeout = read ?? DEFAULT_READ_TIMEOUT
  const ttl = seconds(body.negativeCacheTtl, 'negative_cache_ttl', { zero: true })
  if (ttl !== undefined) out.negativeCacheTtl = ttl
  else if (current === undefined) out.negativeCacheTtl = DEFAULT_FRESHNESS.negativeCacheTtl
  const patterns = metadataPatterns(body.metadataPatterns)
  if (patterns !== undefined) out.metadataPatterns = patterns
  else if (current === undefined) out.metadataPatterns = null
  for (const [key, field] of [['metadataTtl', 'metadata_ttl'], ['staleIfError', 'stale_if_error']] as const) {
    const v = requiredSeconds(body[key], field)
    if (v !== undefined) out[key] = v
    else if (current === undefined) out[key] = DEFAULT_FRESHNESS[key]
  }
  const failures = count(body.maxFailures, 'max_failures')
  if (failures !== undefined) out.maxFailures = failures
  else if (current === undefined) out.maxFailures = DEFAULT_FRESHNESS.maxFailures
  if (body.proxyUrl !== undefined) {
    out.proxyUrl = body.proxyUrl === null ? null : keptIfMasked(body.proxyUrl, current?.proxyUrl) ?? httpUrl(body.proxyUrl, 'proxy_url', true)
  }
  else if (current === undefined) out.proxyUrl = null
  if (body.tlsValidation !== undefined) {
    if (typeof body.tlsValidation !== 'boolean') throw new ValidationError('"tls_validation" must be true or false')
    out.tlsValidation = body.tlsValidation
  } else if (current === undefined) {
    out.tlsValidation = true
  }
  return out
}

/** Every header value as `"***"`. */
export function maskHeaders (h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
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
