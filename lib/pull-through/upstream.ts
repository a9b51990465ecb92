import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { Agent, ProxyAgent, type Dispatcher } from 'undici'
import createDebug from 'debug'
import { ERROR_CODES, NotFoundError, PulpError, UpstreamError, UpstreamTimeoutError } from '../errors'
import type { StoredRemote } from '../storage/remotes'
import { version } from '../version'
import type { PartLog } from '../log/logger'
import type { PulpMetrics } from '../metrics/metrics'

const debug = createDebug('pulp:content:pull-through:upstream')

/** Redirects an upstream may answer with before we give up (mirrors often send one to a CDN). */
const MAX_REDIRECTIONS = 5
/** Statuses whose `Location` is followed (RFC 9110 15.4); 300 and 304 are answers of their own. */
const REDIRECTS = new Set([301, 302, 303, 307, 308])
/**
 * What a body may hold in memory, unread, before undici stops reading its connection. undici 7
 * fails an assertion no caller can catch, and the process exits, when a connection the upstream
 * closes after the body (`Connection: close`, HTTP/1.0, a body only the close ends) reaches its
 * end while undici has stopped reading it (undici issue 5360; fixed in undici 8, which needs
 * Node 22). At undici's default of 64 KiB, a download that awaited one disk write was enough.
 * So a body starts with room for 64 MiB (our reader, the download, waits only on its disk),
 * and one whose connection stays open, where stopping is safe, gets undici's default back.
 */
const BODY_HIGH_WATER_MARK = 64 * 1024 * 1024
const KEPT_ALIVE_HIGH_WATER_MARK = 64 * 1024

/**
 * Whether an upstream's response keeps its connection open, by its Connection header. An
 * HTTP/1.1 response without the header does too, but an HTTP/1.0 one does not, and undici does
 * not say which version answered: only an explicit `keep-alive` counts.
 */
export function keepsAlive (connection: string | string[] | undefined): boolean {
  const tokens = (Array.isArray(connection) ? connection.join(',') : connection ?? '').toLowerCase().split(',').map((t) => t.trim())
  return tokens.includes('keep-alive') && !tokens.includes('close')
}

/**
 * Gives a body whose connection stays open undici's usual room. Node has no public setter for
 * a stream's high-water mark; where its state differs from what this expects, the body keeps
 * the larger room (more memory, never a crash).
 */
function narrow (body: Dispatcher.ResponseData['body']): void {
  const state = (body as unknown as { _readableState?: { highWaterMark?: unknown } })._readableState
  if (typeof state?.highWaterMark === 'number') state.highWaterMark = KEPT_ALIVE_HIGH_WATER_MARK
}

/** What an upstream answered: status and headers, and for a GET its body still to read. */
export interface UpstreamResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  body: Readable
}

export interface UpstreamRequest {
  remote: StoredRemote
  url: string
  method: 'GET' | 'HEAD'
  /** The incoming request's own `Via`, which ours is appended to. */
  via: string | undefined
  /** The path the client asked for, for messages (never the URL: its query may hold a token). */
  relativePath: string
  signal?: AbortSignal
  /** Validators of a cached copy: the request is conditional and a 304 is answered as it is. */
  conditional?: { etag: string | null, lastModified: string | null }
  /** The `Accept` the remote type asks for (a variant's representation); never the client's. */
  accept?: string
}

/** How an upstream request went, for the remote's health: a 5xx or no answer is a failure. */
export type UpstreamOutcome = 'success' | 'failure'

/** Whether an error (of a request or a body) counts against the upstream's health. */
export function isUpstreamFailure (err: unknown): boolean {
  if (err instanceof UpstreamTimeoutError) return true
  if (!(err instanceof UpstreamError) || err.code !== ERROR_CODES.UPSTREAM) return false
  return err.upstreamStatus === undefined || err.upstreamStatus >= 500
}

/** Whether a cached copy may stand in for what the upstream failed to give (RFC 5861 stale-if-error, plus 429). */
export function allowsStale (err: unknown): boolean {
  return isUpstreamFailure(err) || (err instanceof UpstreamError && err.upstreamStatus === 429)
}

interface Entry {
  stamp: string
  agent: Agent | ProxyAgent
}

/** This instance's `Via` pseudonym (RFC 9110 7.6.3); finding it in a request means a loop. */
export function viaToken (instanceId: string): string {
  return `pulp-middleware-${instanceId}`
}

function buildAgent (remote: StoredRemote): Agent | ProxyAgent {
  const tls = remote.tlsValidation ? {} : { rejectUnauthorized: false }
  const timeout = remote.connectTimeout === null ? {} : { timeout: remote.connectTimeout * 1000 }
  if (remote.proxyUrl !== null) {
    // `proxyTls` is the connection to the proxy, `requestTls` the tunnel to the upstream.
    return new ProxyAgent({ uri: remote.proxyUrl, proxyTls: { ...tls, ...timeout }, requestTls: { ...tls, ...timeout } })
  }
  return new Agent({ connect: { ...tls, ...timeout } })
}

/**
 * One undici dispatcher per remote, reused by every request to it and rebuilt when the remote
 * changes (a stale one is closed once its requests finish).
 */
export class UpstreamClients {
  readonly #entries = new Map<string, Entry>()
  readonly #token: string
  readonly #metrics: PulpMetrics | undefined
  readonly #log: PartLog | undefined
  /** The remote's shared health record (`health.ts`), told of every answer or failure. */
  readonly #health: (remote: StoredRemote, outcome: UpstreamOutcome) => void
  /** Remotes whose last request failed (no answer, or a 5xx): a change is logged once. */
  readonly #down = new Set<string>()

  constructor (instanceId: string, observers: {
    metrics?: PulpMetrics
    log?: PartLog
    health?: (remote: StoredRemote, outcome: UpstreamOutcome) => void
  } = {}) {
    this.#token = viaToken(instanceId)
    this.#metrics = observers.metrics
    this.#log = observers.log
    this.#health = observers.health ?? (() => {})
  }

  /** Counts the answer and logs a remote going down or coming back. */
  #observe (stored: StoredRemote, status: number | 'error', err?: PulpError): void {
    const remote = stored.name
    this.#metrics?.upstream(remote, status)
    // A 429 says the upstream is alive but busy: it neither counts against it nor clears it.
    if (status !== 429) this.#health(stored, status === 'error' || status >= 500 ? 'failure' : 'success')
    const failing = status === 'error' || status >= 500
    if (failing === this.#down.has(remote)) return
    if (failing) {
      this.#down.add(remote)
      this.#log?.warn({ remote, status, err }, `remote "${remote}" is failing`)
    } else {
      this.#down.delete(remote)
      this.#log?.info({ remote, status }, `remote "${remote}" answers again`)
    }
  }

  get viaToken (): string { return this.#token }

  #dispatcherFor (remote: StoredRemote): Dispatcher {
    // The stamp changes with every update, so settings read before an update build their own.
    const stamp = `${remote.created}|${remote.updated}`
    const entry = this.#entries.get(remote.name)
    if (entry?.stamp === stamp) return entry.agent
    if (entry !== undefined) this.drop(remote.name)
    const agent = buildAgent(remote)
    this.#entries.set(remote.name, { stamp, agent })
    debug('dispatcher for remote %s%s', remote.name, remote.proxyUrl === null ? '' : ' (through its proxy)')
    return agent
  }

  /** Closes a remote's dispatcher after its running requests (the remote changed or went). */
  drop (name: string): void {
    const entry = this.#entries.get(name)
    if (entry === undefined) return
    this.#entries.delete(name)
    entry.agent.close().catch((err: unknown) => debug('closing the dispatcher of %s: %s', name, (err as Error).message))
  }

  /** Closes every dispatcher, cutting requests still running after `graceMs`. */
  async close (graceMs = 1000): Promise<void> {
    const agents = [...this.#entries.values()].map((e) => e.agent)
    this.#entries.clear()
    await Promise.all(agents.map(async (agent) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), graceMs).unref() })
      const outcome = await Promise.race([agent.close().then(() => 'closed' as const), late])
      clearTimeout(timer)
      if (outcome === 'late') await agent.destroy()
    }))
  }

  /**
   * Sends one request upstream with our headers, and the remote's own to its own origin only,
   * never the client's; follows redirects. Answers only a 2xx; anything else throws the coded
   * error the edge maps (404, 502, 504).
   */
  async request (r: UpstreamRequest): Promise<UpstreamResponse> {
    const { remote } = r
    const home = new URL(remote.url).origin
    const ours: Record<string, string> = {
      'user-agent': `pulp-middleware/${version}`,
      // We store and replay bytes as received: ask for them unencoded.
      'accept-encoding': 'identity',
      via: r.via === undefined || r.via === '' ? `1.1 ${this.#token}` : `${r.via}, 1.1 ${this.#token}`
    }
    if (r.accept !== undefined) ours.accept = r.accept
    if (r.conditional?.etag != null) ours['if-none-match'] = r.conditional.etag
    if (r.conditional?.lastModified != null) ours['if-modified-since'] = r.conditional.lastModified
    // A remote's headers are its credentials for its own origin: a redirect to another one (a
    // CDN, or a host the upstream does not control) gets none of them, not only Authorization.
    const theirs = { ...ours, ...remote.headers, 'accept-encoding': ours['accept-encoding'], via: ours.via }
    // undici's idle timers: until the headers arrive, then between body bytes.
    const idleMs = remote.readTimeout * 1000
    let url = new URL(r.url)
    for (let hops = 0; ; hops++) {
      let res: Dispatcher.ResponseData
      try {
        res = await this.#dispatcherFor(remote).request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: r.method,
          headers: url.origin === home ? theirs : ours,
          headersTimeout: idleMs,
          bodyTimeout: idleMs,
          highWaterMark: BODY_HIGH_WATER_MARK,
          signal: r.signal
        })
      } catch (err: unknown) {
        const failure = upstreamFailure(err, remote.name, r.relativePath)
        // An abort is the client's or ours (close, a timeout we set): not the remote's health.
        if (r.signal?.aborted !== true || failure instanceof UpstreamTimeoutError) this.#observe(remote, 'error', failure)
        throw failure
      }
      this.#observe(remote, res.statusCode)
      const whole = res.statusCode >= 200 && res.statusCode < 300 && res.statusCode !== 206
      if (whole || (res.statusCode === 304 && r.conditional !== undefined)) {
        if (keepsAlive(res.headers.connection)) narrow(res.body)
        return { statusCode: res.statusCode, headers: res.headers, body: res.body }
      }
      discard(res)
      const location = res.headers.location
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
        if (hops === MAX_REDIRECTIONS) throw new UpstreamError(`remote "${remote.name}" redirected more than ${MAX_REDIRECTIONS} times for "${r.relativePath}"`)
        url = redirectTarget(location, url, remote.name, r.relativePath)
        debug('%s: %s redirected (%d)%s', remote.name, r.relativePath, res.statusCode, url.origin === home ? '' : ' to another origin')
        continue
      }
      throw statusFailure(res.statusCode, remote.name, r.relativePath)
    }
  }
}

/** The error body is not ours to relay; drain it so the connection can be reused. */
function discard (res: Dispatcher.ResponseData): void {
  res.body.resume()
  res.body.on('error', () => {})
}

/** Where a redirect leads, resolved against the URL that answered it; http and https only. */
function redirectTarget (location: string, base: URL, remoteName: string, relativePath: string): URL {
  let next: URL | undefined
  try {
    next = new URL(location, base)
  } catch {}
  if (next?.protocol !== 'http:' && next?.protocol !== 'https:') {
    throw new UpstreamError(`remote "${remoteName}" redirected "${relativePath}" to a location that is no http or https URL`)
  }
  return next
}

/** The coded error for an upstream status that is no 2xx and no redirect we follow. */
function statusFailure (statusCode: number, remoteName: string, relativePath: string): PulpError {
  if (statusCode === 404 || statusCode === 410) {
    return new NotFoundError(`remote "${remoteName}" has no "${relativePath}" (upstream answered ${statusCode})`)
  }
  return new UpstreamError(`remote "${remoteName}" answered ${statusCode} for "${relativePath}"`, { upstreamStatus: statusCode })
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
/** undici's idle timeouts, which a remote's `read_timeout` sets. */
const SILENCE_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

function codeOf (err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

/**
 * Maps what undici throws (while connecting or reading a body) to our coded errors, naming
 * the remote and the path. An abort whose reason is already one of ours stays as it is.
 */
export function upstreamFailure (err: unknown, remoteName: string, relativePath: string): PulpError {
  if (err instanceof PulpError) return err
  const code = codeOf(err)
  const cause = err
  if (SILENCE_CODES.has(code)) {
    return new UpstreamTimeoutError(`remote "${remoteName}" sent nothing for longer than its read_timeout for "${relativePath}" (${code})`, { cause })
  }
  if (TIMEOUT_CODES.has(code) || (err as Error | null)?.name === 'TimeoutError') {
    return new UpstreamTimeoutError(`remote "${remoteName}" timed out for "${relativePath}" (${code})`, { cause })
  }
  const detail = code === '' ? (err instanceof Error ? err.name : 'error') : code
  return new UpstreamError(`remote "${remoteName}" failed for "${relativePath}": ${describe(code)} (${detail})`, { cause })
}

function describe (code: string): string {
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused'
    case 'ECONNRESET': case 'UND_ERR_SOCKET': return 'connection closed early'
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host not found'
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH': return 'body shorter or longer than its Content-Length'
    case 'UND_ERR_ABORTED': return 'request aborted'
    default: return code.startsWith('ERR_TLS') || code.includes('CERT') ? 'TLS failure' : 'could not fetch'
  }
}
