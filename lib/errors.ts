import path from 'node:path'

/**
 * One errors module: every error the package raises has a stable `code`.
 * Domain code throws these; the HTTP edge (`api/`, `content/`) maps codes to statuses.
 */

/**
 * Every code the package gives: on thrown errors (each class below has one), in HTTP error
 * bodies and in a task's `error`. Stable: clients match on them.
 */
export const ERROR_CODES = Object.freeze({
  /** A PulpError raised without a more precise code. */
  GENERIC: 'ERR_PULP',
  INVALID: 'ERR_PULP_INVALID',
  INVALID_CONFIG: 'ERR_PULP_INVALID_CONFIG',
  /** A bad `pulpMiddleware()` option (InvalidOptionError, a TypeError). */
  INVALID_OPTION: 'ERR_PULP_INVALID_OPTION',
  UNAUTHORIZED: 'ERR_PULP_UNAUTHORIZED',
  FORBIDDEN: 'ERR_PULP_FORBIDDEN',
  NOT_FOUND: 'ERR_PULP_NOT_FOUND',
  /** Content paths answer only GET and HEAD. */
  METHOD_NOT_ALLOWED: 'ERR_PULP_METHOD_NOT_ALLOWED',
  CONFLICT: 'ERR_PULP_CONFLICT',
  TOO_LARGE: 'ERR_PULP_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'ERR_PULP_UNSUPPORTED_MEDIA_TYPE',
  UPSTREAM: 'ERR_PULP_UPSTREAM',
  UPSTREAM_DOWN: 'ERR_PULP_UPSTREAM_DOWN',
  DIGEST_MISMATCH: 'ERR_PULP_DIGEST_MISMATCH',
  UPSTREAM_TIMEOUT: 'ERR_PULP_UPSTREAM_TIMEOUT',
  LOOP: 'ERR_PULP_LOOP',
  LOCAL_FAULT: 'ERR_PULP_LOCAL_FAULT',
  INSUFFICIENT_STORAGE: 'ERR_PULP_INSUFFICIENT_STORAGE',
  INTERNAL: 'ERR_PULP_INTERNAL',
  CLOSED: 'ERR_PULP_CLOSED',
  /** The instance failed to start: its paths answer 503. */
  UNAVAILABLE: 'ERR_PULP_UNAVAILABLE',
  COMMAND: 'ERR_PULP_COMMAND',
  /** `pulp.tasks.wait()` gave up before the task ended. */
  TIMEOUT: 'ERR_PULP_TIMEOUT',
  /** A task whose process (or instance) stopped before it ended. */
  TASK_INTERRUPTED: 'ERR_PULP_TASK_INTERRUPTED',
  /** A publish whose `publishRepo` returned a failure report. */
  PUBLISH_FAILED: 'ERR_PULP_PUBLISH_FAILED',
  /** A publish whose `publishRepo` threw an error without a code, or returned no report. */
  PUBLISH_ERROR: 'ERR_PULP_PUBLISH_ERROR',
  /** A failed orphan cleanup task. */
  ORPHAN_CLEANUP: 'ERR_PULP_ORPHAN_CLEANUP',
  /** Internal to pull-through: another request saved the file meanwhile. */
  SAVED_ELSEWHERE: 'ERR_PULP_SAVED_ELSEWHERE',
  /** Internal to pull-through: the upstream answered 304. */
  NOT_MODIFIED: 'ERR_PULP_NOT_MODIFIED'
})

export interface PulpErrorOptions {
  cause?: unknown
  /** Whether the message is safe to show to a client (default true below 500). */
  expose?: boolean
}

export class PulpError extends Error {
  readonly code: string
  readonly expose: boolean

  constructor (message: string, code: string = ERROR_CODES.GENERIC, options: PulpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.expose = options.expose ?? true
  }
}

/** Bad input: a field, a path, a config. */
export class ValidationError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.INVALID, options) }
}

/** A plugin's validateConfig said no. */
export class InvalidConfigError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.INVALID_CONFIG, options) }
}

export class NotFoundError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.NOT_FOUND, options) }
}

/** A duplicate id, an overlapping path, a task that already ended. */
export class ConflictError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.CONFLICT, options) }
}

export class PayloadTooLargeError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.TOO_LARGE, options) }
}

export class UnsupportedMediaTypeError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.UNSUPPORTED_MEDIA_TYPE, options) }
}

export class UnauthorizedError extends PulpError {
  constructor (message = 'authentication required', options?: PulpErrorOptions) { super(message, ERROR_CODES.UNAUTHORIZED, options) }
}

export class ForbiddenError extends PulpError {
  constructor (message = 'not allowed', options?: PulpErrorOptions) { super(message, ERROR_CODES.FORBIDDEN, options) }
}

/** The upstream of a remote answered with an error or could not be reached. */
export class UpstreamError extends PulpError {
  /** The status the upstream answered with; undefined when it answered nothing usable (a connection error). */
  readonly upstreamStatus: number | undefined

  constructor (message: string, options?: PulpErrorOptions & { upstreamStatus?: number }, code: string = ERROR_CODES.UPSTREAM) {
    super(message, code, options)
    this.upstreamStatus = options?.upstreamStatus
  }
}

/** A remote marked down after consecutive failures: nothing is asked of it until its retry time. */
export class UpstreamDownError extends UpstreamError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, options, ERROR_CODES.UPSTREAM_DOWN) }
}

/** Bytes that do not hash to the digest an index gives for them: never saved nor served whole. */
export class DigestMismatchError extends UpstreamError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, options, ERROR_CODES.DIGEST_MISMATCH) }
}

export class UpstreamTimeoutError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.UPSTREAM_TIMEOUT, options) }
}

/** A request that already went through this instance: a proxy loop. */
export class LoopDetectedError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.LOOP, options) }
}

/** The instance is closing or closed. */
export class ClosedError extends PulpError {
  constructor (message = 'pulp-middleware is closed', options?: PulpErrorOptions) { super(message, ERROR_CODES.CLOSED, options) }
}

/** The command line could not do what it was asked; `exitCode` is what the process ends with. */
export class CommandError extends PulpError {
  readonly exitCode: number
  constructor (message: string, exitCode = 1, options?: PulpErrorOptions) {
    super(message, ERROR_CODES.COMMAND, options)
    this.exitCode = exitCode
  }
}

/** The disk (or the quota, or the database's disk) is full. */
export class InsufficientStorageError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.INSUFFICIENT_STORAGE, options) }
}

/** A local fault other than a full disk (permissions, a read-only or failing disk): a 500 that names it. */
export class LocalFaultError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.LOCAL_FAULT, options) }
}

/** `pulp.tasks.wait()` gave up: the task had not ended within its timeout. */
export class TaskTimeoutError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.TIMEOUT, options) }
}

/** A publish found its task had been taken from this instance (marked interrupted by recovery). */
export class TaskInterruptedError extends PulpError {
  constructor (message: string, options?: PulpErrorOptions) { super(message, ERROR_CODES.TASK_INTERRUPTED, options) }
}

/**
 * A bad `pulpMiddleware()` option. A TypeError, as a wrong argument is, with a code like every
 * other error of the package.
 */
export class InvalidOptionError extends TypeError {
  readonly code = ERROR_CODES.INVALID_OPTION

  constructor (message: string) {
    super(message)
    this.name = 'InvalidOptionError'
  }
}

/** Error codes of a full disk or quota: Node's, SQLite's, and PostgreSQL's SQLSTATE disk_full. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100'])

/** The local faults we name, and how. */
const LOCAL_CAUSES: Readonly<Record<string, string>> = Object.freeze({
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  SQLITE_FULL: 'database or disk is full',
  SQLITE_READONLY: 'the database is read-only',
  SQLITE_IOERR: 'disk I/O error',
  SQLITE_CANTOPEN: 'cannot open the database file',
  53100: 'the database server\'s disk is full'
})

const VERB_BY_SYSCALL: Readonly<Record<string, string>> = Object.freeze({
  open: 'open', mkdir: 'create', link: 'link to', symlink: 'create the link', rename: 'rename to',
  unlink: 'remove', rmdir: 'remove', chmod: 'change', utime: 'touch', futime: 'touch'
})

/**
 * The local fault behind `err`, if it is one: a full disk or quota becomes 507
 * (InsufficientStorageError), a permission, read-only or I/O fault a 500 naming its cause
 * (LocalFaultError). Paths are shown relative to `dataDir`, never as the server's absolute
 * paths; `file` names what was being written when the error does not (a write on a descriptor).
 */
export function localFault (err: unknown, dataDir: string, file?: string): PulpError | undefined {
  if (err instanceof PulpError || err === null || typeof err !== 'object') return undefined
  const e = err as { code?: unknown, syscall?: unknown, path?: unknown, dest?: unknown }
  const code = String(e.code ?? '')
  const cause = LOCAL_CAUSES[code]
  if (cause === undefined) return undefined
  let message: string
  if (code.startsWith('SQLITE_') || code === '53100') {
    message = `the database cannot write: ${cause}`
  } else {
    const target = typeof e.dest === 'string' ? e.dest : typeof e.path === 'string' ? e.path : file
    const verb = typeof e.syscall === 'string' ? VERB_BY_SYSCALL[e.syscall] ?? 'write to' : 'write to'
    message = `cannot ${verb} ${target === undefined ? 'the data directory' : shownPath(target, dataDir)}: ${cause}`
  }
  return FULL.has(code) ? new InsufficientStorageError(message, { cause: err }) : new LocalFaultError(message, { cause: err })
}

/** A path as a client may see it: relative to `dataDir`, or only its name when outside it. */
function shownPath (file: string, dataDir: string): string {
  const relative = path.relative(path.resolve(dataDir), path.resolve(dataDir, file))
  return relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? path.basename(file) : relative.split(path.sep).join('/')
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  [ERROR_CODES.INVALID]: 400,
  [ERROR_CODES.INVALID_CONFIG]: 400,
  [ERROR_CODES.UNAUTHORIZED]: 401,
  [ERROR_CODES.FORBIDDEN]: 403,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.CONFLICT]: 409,
  [ERROR_CODES.TOO_LARGE]: 413,
  [ERROR_CODES.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ERROR_CODES.UPSTREAM]: 502,
  [ERROR_CODES.UPSTREAM_DOWN]: 502,
  [ERROR_CODES.DIGEST_MISMATCH]: 502,
  [ERROR_CODES.LOCAL_FAULT]: 500,
  [ERROR_CODES.CLOSED]: 503,
  [ERROR_CODES.UPSTREAM_TIMEOUT]: 504,
  [ERROR_CODES.INSUFFICIENT_STORAGE]: 507,
  [ERROR_CODES.LOOP]: 508
})

/** The HTTP status for an error; used only at the HTTP edge. */
export function httpStatusOf (err: unknown): number {
  if (err instanceof PulpError) return STATUS_BY_CODE[err.code] ?? 500
  return 500
}

/** The `{error: {code, message}}` body for an error; a 500 never shows its message or stack, unless it names a local fault. */
export function errorBody (err: unknown): { error: { code: string, message: string } } {
  const status = httpStatusOf(err)
  // 502/504 messages name the remote (never its credentials) and help the client; a 500 says
  // nothing, except the local cause an operator must fix (its paths are relative to dataDir).
  if (err instanceof PulpError && err.expose && (status !== 500 || err instanceof LocalFaultError)) {
    return { error: { code: err.code, message: err.message } }
  }
  return { error: { code: ERROR_CODES.INTERNAL, message: 'internal server error' } }
}
