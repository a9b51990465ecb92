/**
 * One errors module: every error the package raises has a stable `code`.
 * Domain code throws these; the HTTP edge (`api/`, `content/`) maps codes to statuses.
 */

export interface PulpErrorOptions {
  cause?: unknown
  /** Whether the message is safe to show to a client (default true below 500). */
  expose?: boolean
}

export class PulpError extends Error {
  readonly code: string
  readonly expose: boolean

  constructor (message: string, code = 'ERR_PULP', options: PulpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.expose = options.expose ?? true
  }
}

/** Bad input: a field, a path, a config. */
export class ValidationError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_INVALID', options) }
}

/** A plugin's validateConfig said no. */
export class InvalidConfigError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_INVALID_CONFIG', options) }
}

export class NotFoundError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_NOT_FOUND', options) }
}

/** A duplicate id, an overlapping path, a task that already ended. */
export class ConflictError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_CONFLICT', options) }
}

export class PayloadTooLargeError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_TOO_LARGE', options) }
}

export class UnsupportedMediaTypeError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_UNSUPPORTED_MEDIA_TYPE', options) }
}

export class UnauthorizedError extends PulpError {
  constructor (message = 'authentication required', options?: PulpErrorOptions) { super(message, 'ERR_PULP_UNAUTHORIZED', options) }
}

export class ForbiddenError extends PulpError {
  constructor (message = 'not allowed', options?: PulpErrorOptions) { super(message, 'ERR_PULP_FORBIDDEN', options) }
}

/** The upstream of a remote answered with an error or could not be reached. */
export class UpstreamError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_UPSTREAM', options) }
}

export class UpstreamTimeoutError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_UPSTREAM_TIMEOUT', options) }
}

/** A request that already went through this instance: a proxy loop. */
export class LoopDetectedError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, 'ERR_PULP_LOOP', options) }
}

/** The instance is closing or closed. */
export class ClosedError extends PulpError {
  constructor (message = 'pulp-middleware is closed', options?: PulpErrorOptions) { super(message, 'ERR_PULP_CLOSED', options) }
}

/** The command line could not do what it was asked; `exitCode` is what the process ends with. */
export class CommandError extends PulpError {
  readonly exitCode: number
  constructor (message: string, exitCode = 1, options?: PulpErrorOptions) {
    super(message, 'ERR_PULP_COMMAND', options)
    this.exitCode = exitCode
  }
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  ERR_PULP_INVALID: 400,
  ERR_PULP_INVALID_CONFIG: 400,
  ERR_PULP_UNAUTHORIZED: 401,
  ERR_PULP_FORBIDDEN: 403,
  ERR_PULP_NOT_FOUND: 404,
  ERR_PULP_CONFLICT: 409,
  ERR_PULP_TOO_LARGE: 413,
  ERR_PULP_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_PULP_UPSTREAM: 502,
  ERR_PULP_CLOSED: 503,
  ERR_PULP_UPSTREAM_TIMEOUT: 504,
  ERR_PULP_LOOP: 508
})

/** The HTTP status for an error; used only at the HTTP edge. */
export function httpStatusOf (err: unknown): number {
  if (err instanceof PulpError) return STATUS_BY_CODE[err.code] ?? 500
  return 500
}

/** The `{error: {code, message}}` body for an error; a 500 never shows its message or stack. */
export function errorBody (err: unknown): { error: { code: string, message: string } } {
  const status = httpStatusOf(err)
  // 502/504 messages name the remote (never its credentials) and help the client; a 500 says nothing.
  if (err instanceof PulpError && err.expose && status !== 500) {
    return { error: { code: err.code, message: err.message } }
  }
  return { error: { code: 'ERR_PULP_INTERNAL', message: 'internal server error' } }
}
