/**
 * The one place credentials leave log lines: every field and message the logger receives
 * passes through here first, whatever the destination (the `logger` option or `debug`).
 */

/** Keys whose values are never written: request and remote headers, passwords, tokens. */
const SECRET_KEY = /^(authorization|proxy-authorization|cookie|set-cookie|password|passwd|secret|token|api[-_]?key|x-api-key)$/i
/** Objects of header values (a remote's `headers`, a request's): every value is hidden. */
const HEADERS_KEY = /^(headers|rawHeaders)$/i
const MASK = '***'
const MAX_DEPTH = 6

/**
 * Hides credentials inside free text: URL userinfo (`https://user:pass@host`), every query
 * value (signed URLs carry tokens there) and `Authorization:`/`Cookie:`-style pairs.
 */
export function redactText (text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@?#]+@/gi, `$1${MASK}@`)
    .replace(/([?&;][^=&#\s"'<>]+)=[^&#\s"'<>]*/g, `$1=${MASK}`)
    .replace(/\b((?:proxy-)?authorization|cookie|set-cookie)(["']?\s*[:=]\s*["']?)[^\r\n"']+/gi, `$1$2${MASK}`)
    .replace(/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${MASK}`)
}

function redactError (err: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: redactText(err.message) }
  const { code, status } = err as { code?: unknown, status?: unknown }
  if (typeof code === 'string' || typeof code === 'number') out.code = code
  if (typeof status === 'number') out.status = status
  if (typeof err.stack === 'string') out.stack = redactText(err.stack)
  // Only the cause chain: an error's other properties (an HTTP client's request options with
  // their headers, say) are exactly what must not be written.
  if (err.cause !== undefined) out.cause = redactValue(err.cause, depth + 1)
  return out
}

/** A copy of `value` safe to log; never mutates it. */
export function redactValue (value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value)
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_DEPTH) return '[…]'
  if (value instanceof Error) return redactError(value, depth)
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) out[key] = MASK
    else if (HEADERS_KEY.test(key) && v !== null && typeof v === 'object') out[key] = maskHeaders(v as Record<string, unknown>)
    else out[key] = redactValue(v, depth + 1)
  }
  return out
}

/** Header names stay (they help reading a line); their values go. */
function maskHeaders (headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, MASK]))
}
