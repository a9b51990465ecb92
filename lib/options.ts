import { isIP } from 'node:net'
import path from 'node:path'
import type { Knex } from 'knex'
import { InvalidOptionError } from './errors'
import type { Request } from 'express'
import type { PluginBundle } from './plugins/types'
import { LOG_LEVELS, type Logger } from './log/logger'

export type AuthorizeFn = (req: Request, action: string) => boolean | Promise<boolean>

export interface RunnerOptions {
  /** How many publish tasks this instance runs at once. Default 2. */
  concurrency?: number
  /** Seconds `close()` waits for running tasks before canceling them. Default 10. */
  closeTimeout?: number
  /** Seconds between polls of the task table. Default 1. */
  pollInterval?: number
  /** Seconds between heartbeats of this instance. Default 5. */
  heartbeatInterval?: number
  /** Seconds without a heartbeat after which an instance's tasks count as interrupted. Default 30. */
  heartbeatTimeout?: number
}

/** The front server's internal redirect (CONTRACT 14): nginx's or Apache mod_xsendfile's header. */
export type AccelHeader = 'X-Accel-Redirect' | 'X-Sendfile'

export interface AccelOptions {
  /**
   * `X-Accel-Redirect` (nginx: a URI on an `internal` location) or `X-Sendfile` (Apache
   * mod_xsendfile: a file path, which it URL-decodes).
   */
  header: AccelHeader
  /**
   * What stands for `dataDir` in the header's value: the `internal` location's URI prefix for
   * nginx (`/_pulp_files/`), the directory as the front server sees it for X-Sendfile
   * (`/srv/pulp-data/`). A slash is added at the end when it has none.
   */
  prefix: string
  /** Files smaller than this many bytes are sent by the middleware itself. Default 1 MiB. */
  minSize?: number
}

export interface PulpOptions {
  dataDir?: string
  database?: Knex.Config | Knex
  apiPath?: string | false
  contentPath?: string
  authorize?: AuthorizeFn
  plugins?: PluginBundle[]
  maxUploadSize?: number
  runner?: RunnerOptions | false
  autoPublishDelay?: number
  publicationGracePeriod?: number
  indexes?: boolean
  index?: string | string[] | false
  cacheControl?: string | false
  /**
   * Where 500s, failed saves, failed tasks, remotes going down and up and start-up failures
   * are reported: pino, or any object with `error`, `warn`, `info` and `debug` taking
   * `(fields, message)` or `(message)`. No credential reaches it. Default: the `debug`
   * namespaces (`DEBUG=pulp:*`).
   * @example pulpMiddleware({ logger: pino() })
   */
  logger?: Logger
  /**
   * Prometheus metrics: `GET <apiPath>/metrics` and `pulp.metrics`. Default true; `false`
   * counts nothing (the bench compares both).
   */
  metrics?: boolean
  /**
   * Large files (static tree and pull-through HITs) answered with their headers and an
   * internal redirect, no body: the front server sends the bytes with sendfile. Default false.
   * See docs/serving-with-nginx.md for the matching nginx location.
   * @example pulpMiddleware({ accel: { header: 'X-Accel-Redirect', prefix: '/_pulp_files/' } })
   */
  accel?: AccelOptions | false
  /**
   * Scheme, host and port clients reach the content at, when rewritten indexes need absolute
   * URLs (npm packuments): `https://mirror.example.com`. Default: the origin of each request
   * (its `Host`, or `X-Forwarded-*` under Express's `trust proxy`), with a copy per origin.
   */
  contentOrigin?: string
}

export interface ResolvedAccelOptions {
  /** The header's name in lower case, as Node writes it. */
  readonly header: 'x-accel-redirect' | 'x-sendfile'
  /** Ends with a slash. */
  readonly prefix: string
  readonly minSize: number
}

export interface ResolvedRunnerOptions {
  readonly concurrency: number
  readonly closeTimeout: number
  readonly pollInterval: number
  readonly heartbeatInterval: number
  readonly heartbeatTimeout: number
}

export interface ResolvedOptions {
  readonly dataDir: string
  readonly database: Knex.Config | Knex | undefined
  readonly apiPath: string | false
  readonly contentPath: string
  readonly authorize: AuthorizeFn
  readonly plugins: readonly PluginBundle[]
  readonly maxUploadSize: number
  readonly runner: ResolvedRunnerOptions | false
  readonly autoPublishDelay: number
  readonly publicationGracePeriod: number
  readonly indexes: boolean
  /** File names tried, in order, for a directory asked with its slash; empty when off. */
  readonly index: readonly string[]
  readonly cacheControl: string | false
  readonly logger: Logger | undefined
  readonly metrics: boolean
  readonly accel: ResolvedAccelOptions | false
  /** `new URL(contentOrigin).origin`, or undefined. */
  readonly contentOrigin: string | undefined
}

const GiB = 1024 ** 3

export const DEFAULT_RUNNER: ResolvedRunnerOptions = Object.freeze({
  concurrency: 2,
  closeTimeout: 10,
  pollInterval: 1,
  heartbeatInterval: 5,
  heartbeatTimeout: 30
})

export const DEFAULTS = Object.freeze({
  dataDir: './pulp-data',
  apiPath: '/api/v1',
  contentPath: '/content',
  maxUploadSize: 4 * GiB,
  autoPublishDelay: 2,
  publicationGracePeriod: 300,
  indexes: true,
  index: Object.freeze(['index.html']) as readonly string[],
  cacheControl: 'public, max-age=0, must-revalidate',
  accelMinSize: 1024 * 1024
})

const KNOWN = new Set(['dataDir', 'database', 'apiPath', 'contentPath', 'authorize', 'plugins', 'maxUploadSize',
  'runner', 'autoPublishDelay', 'publicationGracePeriod', 'indexes', 'index', 'cacheControl', 'logger', 'metrics', 'accel', 'contentOrigin'])
const KNOWN_ACCEL = new Set(['header', 'prefix', 'minSize'])
const KNOWN_RUNNER = new Set(['concurrency', 'closeTimeout', 'pollInterval', 'heartbeatInterval', 'heartbeatTimeout'])

function fail (name: string, what: string): never {
  throw new InvalidOptionError(`pulpMiddleware: option "${name}" ${what}`)
}

function resolveContentOrigin (value: unknown): string | undefined {
  if (value === undefined) return undefined
  const what = 'must be an http(s) origin such as "https://mirror.example.com" (scheme, host and port; no path, query or fragment)'
  if (typeof value !== 'string') fail('contentOrigin', what)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail('contentOrigin', what)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' ||
    url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(value)) fail('contentOrigin', what)
  return url.origin
}

function nonNegativeNumber (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(name, 'must be a finite number >= 0')
  return value
}

function mountPath (name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/')) fail(name, 'must be a path starting with "/"')
  if (/[?#\\\0]/.test(value) || value.split('/').some((s) => s === '..' || s === '.')) fail(name, 'must be a plain path')
  // '/x/' and '/x' mount the same; keep one form so routes compose predictably.
  return value.length > 1 ? value.replace(/\/+$/, '') : value
}

/** `index`: file names (no separators, not `.` or `..`), in order; `false` for none. */
function indexNames (value: unknown): readonly string[] {
  if (value === undefined) return DEFAULTS.index
  if (value === false) return Object.freeze([])
  const names = typeof value === 'string' ? [value] : value
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '' || n === '.' || n === '..' || /[/\\\0]/.test(n))) {
    fail('index', 'must be false or an array of plain file names (no separators, NUL, "." or "..")')
  }
  return Object.freeze([...names as string[]])
}

/** The default `authorize`: the REST API answers loopback clients only. */
export function loopbackOnly (req: Request): boolean {
  return isLoopback(req.ip ?? req.socket.remoteAddress ?? '')
}

/**
 * Whether `address` is a loopback address: IPv4 127.0.0.0/8, `::1`, or either written as an
 * IPv4-mapped IPv6 address. Parsed, never matched by prefix: with `trust proxy` on, `req.ip`
 * is whatever the client put in X-Forwarded-For, and "127.evil" must not pass.
 */
export function isLoopback (address: string): boolean {
  const kind = isIP(address)
  if (kind === 4) return address.startsWith('127.')
  if (kind !== 6) return false
  let canonical: string
  try {
    // The URL parser writes any IPv6 address in its one canonical, compressed form.
    canonical = new URL(`http://[${address}]/`).hostname
  } catch {
    return false // a zone index (fe80::1%eth0): link-local at best, never loopback
  }
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical)
}

function isKnex (value: object): value is Knex {
  return typeof (value as { client?: unknown, raw?: unknown }).raw === 'function' &&
    typeof (value as { migrate?: unknown }).migrate === 'object'
}

function resolveRunner (value: unknown): ResolvedRunnerOptions | false {
  if (value === false) return false
  if (value === undefined) return DEFAULT_RUNNER
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('runner', 'must be an object or false')
  const r = value as Record<string, unknown>
  for (const key of Object.keys(r)) if (!KNOWN_RUNNER.has(key)) fail(`runner.${key}`, 'is not a known runner setting')
  const concurrency = r.concurrency ?? DEFAULT_RUNNER.concurrency
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) fail('runner.concurrency', 'must be an integer >= 1')
  const resolved = {
    concurrency,
    closeTimeout: nonNegativeNumber('runner.closeTimeout', r.closeTimeout, DEFAULT_RUNNER.closeTimeout),
    pollInterval: nonNegativeNumber('runner.pollInterval', r.pollInterval, DEFAULT_RUNNER.pollInterval),
    heartbeatInterval: nonNegativeNumber('runner.heartbeatInterval', r.heartbeatInterval, DEFAULT_RUNNER.heartbeatInterval),
    heartbeatTimeout: nonNegativeNumber('runner.heartbeatTimeout', r.heartbeatTimeout, DEFAULT_RUNNER.heartbeatTimeout)
  }
  if (resolved.pollInterval <= 0) fail('runner.pollInterval', 'must be > 0')
  if (resolved.heartbeatInterval <= 0) fail('runner.heartbeatInterval', 'must be > 0')
  if (resolved.heartbeatTimeout <= resolved.heartbeatInterval) fail('runner.heartbeatTimeout', 'must be greater than runner.heartbeatInterval')
  return Object.freeze(resolved)
}

function resolveAccel (value: unknown): ResolvedAccelOptions | false {
  if (value === undefined || value === false) return false
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('accel', 'must be false or an object { header, prefix, minSize? }')
  const a = value as Record<string, unknown>
  for (const key of Object.keys(a)) if (!KNOWN_ACCEL.has(key)) fail(`accel.${key}`, 'is not a known accel setting (header, prefix, minSize)')
  const header = typeof a.header === 'string' ? a.header.toLowerCase() : ''
  if (header !== 'x-accel-redirect' && header !== 'x-sendfile') fail('accel.header', 'must be "X-Accel-Redirect" (nginx) or "X-Sendfile" (Apache mod_xsendfile)')
  // The value goes out as a header naming a URI (or a path the front server unescapes): only
  // characters that need no escaping, and nothing that could climb out of the prefix.
  if (typeof a.prefix !== 'string' || !/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(a.prefix) ||
      a.prefix.split('/').some((s) => s === '..' || s === '.')) {
    fail('accel.prefix', 'must be a path starting with "/" in URL-safe characters (percent-encode others), without "." or ".." segments')
  }
  const minSize = nonNegativeNumber('accel.minSize', a.minSize, DEFAULTS.accelMinSize)
  if (!Number.isInteger(minSize)) fail('accel.minSize', 'must be a whole number of bytes >= 0')
  return Object.freeze({ header, prefix: a.prefix.endsWith('/') ? a.prefix : a.prefix + '/', minSize })
}

/**
 * Validates the caller's options once and returns a frozen copy with every default filled in.
 * The caller's object is never mutated. Throws a TypeError naming the bad option.
 */
export function resolveOptions (options: PulpOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('pulpMiddleware: options must be an object')
  }
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) fail(key, 'is not a known option')
  const o = options as Record<string, unknown>

  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || o.dataDir === '' || o.dataDir.includes('\0'))) {
    fail('dataDir', 'must be a non-empty path string')
  }
  const dataDir = path.resolve((o.dataDir as string | undefined) ?? DEFAULTS.dataDir)

  if (o.database !== undefined && (o.database === null || typeof o.database !== 'object' && typeof o.database !== 'function')) {
    fail('database', 'must be a knex config object or a knex instance')
  }
  const database = o.database as Knex.Config | Knex | undefined
  if (database !== undefined && !isKnex(database) && typeof (database as Knex.Config).client === 'undefined') {
    fail('database', 'needs a "client" (for example "pg" or "sqlite3")')
  }

  const apiPath = o.apiPath === false ? false : mountPath('apiPath', o.apiPath, DEFAULTS.apiPath)
  const contentPath = mountPath('contentPath', o.contentPath, DEFAULTS.contentPath)

  if (o.authorize !== undefined && typeof o.authorize !== 'function') fail('authorize', 'must be a function (req, action) => boolean')
  const authorize = (o.authorize as AuthorizeFn | undefined) ?? loopbackOnly

  if (o.plugins !== undefined && !Array.isArray(o.plugins)) fail('plugins', 'must be an array')
  const plugins = Object.freeze([...((o.plugins as PluginBundle[] | undefined) ?? [])])
  plugins.forEach((p, i) => {
    if (p === null || typeof p !== 'object') fail(`plugins[${i}]`, 'must be an object { distributors?, remoteTypes?, contentTypes? }')
  })

  const maxUploadSize = nonNegativeNumber('maxUploadSize', o.maxUploadSize, DEFAULTS.maxUploadSize)
  if (maxUploadSize < 1 || !Number.isInteger(maxUploadSize)) fail('maxUploadSize', 'must be a whole number of bytes >= 1')

  for (const key of ['indexes', 'metrics'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') fail(key, 'must be a boolean')
  }
  if (o.cacheControl !== undefined && o.cacheControl !== false && (typeof o.cacheControl !== 'string' || /[\r\n]/.test(o.cacheControl))) {
    fail('cacheControl', 'must be a header value string or false')
  }

  if (o.logger !== undefined) {
    const logger = o.logger as Record<string, unknown> | null
    if (logger === null || typeof logger !== 'object') fail('logger', 'must be an object with error, warn, info and debug functions (pino is one)')
    for (const level of LOG_LEVELS) if (typeof logger[level] !== 'function') fail(`logger.${level}`, 'must be a function (fields, message)')
  }

  return Object.freeze({
    dataDir,
    database,
    apiPath,
    contentPath,
    authorize,
    plugins,
    maxUploadSize,
    runner: resolveRunner(o.runner),
    autoPublishDelay: nonNegativeNumber('autoPublishDelay', o.autoPublishDelay, DEFAULTS.autoPublishDelay),
    publicationGracePeriod: nonNegativeNumber('publicationGracePeriod', o.publicationGracePeriod, DEFAULTS.publicationGracePeriod),
    indexes: (o.indexes as boolean | undefined) ?? DEFAULTS.indexes,
    index: indexNames(o.index),
    cacheControl: (o.cacheControl as string | false | undefined) ?? DEFAULTS.cacheControl,
    logger: o.logger as Logger | undefined,
    metrics: (o.metrics as boolean | undefined) ?? true,
    accel: resolveAccel(o.accel),
    contentOrigin: resolveContentOrigin(o.contentOrigin)
  })
}
