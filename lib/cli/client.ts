import http from 'node:http'
import type { Readable } from 'node:stream'
import { CommandError } from '../errors'

/** Where the REST API sits below the mount point (the middleware's default `apiPath`). */
const API_PATH = '/api/v1'

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Methods a request may be sent again for when a kept-alive connection was closed under it. */
const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE'])

export interface ClientOptions {
  /** The mount point, e.g. `http://127.0.0.1:8080/pulp`. */
  url: string
  /** Sent as `Authorization: Bearer <token>` on every request. */
  token?: string
  /** Requests in flight at most (one keep-alive connection each). */
  connections?: number
}

export interface RawBody {
  body: Readable
  length: number
  contentType: string
}

interface Answer { status: number, text: string }

/** The first line of anything thrown, so no stack trace or multi-line dump reaches stderr. */
export function oneLine (message: string): string {
  return message.split('\n')[0].trim()
}

type HttpModule = Pick<typeof http, 'request' | 'Agent'>

/**
 * A thin client of the REST API: JSON in and out, errors as one readable line. Built on
 * node:http: loading undici was ~0.15 s of every command's start, most of a second push of an
 * unchanged tree (docs/performance.md, measure 8). `https` is loaded only for an https URL.
 */
export class ApiClient {
  readonly base: string
  readonly #token: string | undefined
  readonly #module: HttpModule
  readonly #agent: http.Agent

  constructor (options: ClientOptions) {
    let url: URL
    try {
      url = new URL(options.url)
    } catch {
      throw new CommandError(`--url ${JSON.stringify(options.url)} is not a URL (e.g. http://127.0.0.1:8080/pulp)`, 2)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CommandError(`--url must be http or https, not ${url.protocol}`, 2)
    this.base = url.href.replace(/\/+$/, '')
    this.#token = options.token === undefined || options.token === '' ? undefined : options.token
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- TLS loaded only for an https URL
    this.#module = url.protocol === 'https:' ? require('node:https') as HttpModule : http
    this.#agent = new this.#module.Agent({ keepAlive: true, maxSockets: options.connections ?? 4 })
  }

  /** `path` below the API, e.g. `/repositories`; `query` values that are undefined are left out. */
  apiUrl (path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(`${this.base}${API_PATH}${path}`)
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value))
    return url.href
  }

  async json<T = unknown> (
    method: HttpMethod,
    path: string,
    options: { query?: Record<string, string | number | undefined>, body?: unknown } = {}
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    let body: string | undefined
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.body)
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    return await this.#send<T>(method, this.apiUrl(path, options.query), headers, body)
  }

  /** Sends a streamed body of known length (an upload); answers the parsed JSON. */
  async send<T = unknown> (method: HttpMethod, path: string, raw: RawBody): Promise<T> {
    const headers = { accept: 'application/json', 'content-type': raw.contentType, 'content-length': String(raw.length) }
    return await this.#send<T>(method, this.apiUrl(path), headers, raw.body)
  }

  async #send<T> (method: HttpMethod, url: string, headers: Record<string, string>, body?: string | Readable): Promise<T> {
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    let res: Answer
    try {
      res = await this.#request(method, url, headers, body)
    } catch (err: unknown) {
      throw new CommandError(`${method} ${url}: ${describeNetworkError(err)}`, 1, { cause: err })
    }
    if (res.status >= 400) throw new CommandError(`${method} ${url}: ${res.status} ${errorMessage(res.text)}`)
    if (res.text === '') return undefined as T
    try {
      return JSON.parse(res.text) as T
    } catch {
      throw new CommandError(`${method} ${url}: the answer is not JSON (is --url the middleware's mount point?)`)
    }
  }

  /**
   * One request and its whole answer. A request without a stream body that fails on a reused
   * keep-alive connection (the server closed it as the request went out) is sent once more on
   * a new one; an upload's stream cannot be replayed, so its failure is the command's.
   */
  async #request (
    method: HttpMethod, url: string, headers: Record<string, string>, body: string | Readable | undefined, retried = false
  ): Promise<Answer> {
    return await new Promise<Answer>((resolve, reject) => {
      const req = this.#module.request(url, { method, headers, agent: this.#agent })
      let settled = false
      const stream = typeof body === 'object' ? body : undefined
      const fail = (err: Error): void => {
        if (settled) return
        settled = true
        stream?.destroy()
        req.destroy()
        const stale = req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET'
        if (stale && !retried && stream === undefined && IDEMPOTENT.has(method)) {
          this.#request(method, url, headers, body, true).then(resolve, reject)
        } else reject(err)
      }
      req.once('error', fail)
      req.once('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => { chunks.push(chunk) })
        res.once('error', fail)
        res.once('close', () => { fail(new Error('the connection closed before the answer ended')) })
        res.once('end', () => {
          if (settled) return
          settled = true
          // An answer before the whole body went out (an early 413): that connection is done.
          if (stream !== undefined && !req.writableFinished) {
            stream.destroy()
            req.destroy()
          }
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
        })
      })
      if (stream !== undefined) {
        stream.once('error', fail)
        stream.pipe(req)
      } else req.end(body)
    })
  }

  async close (): Promise<void> {
    this.#agent.destroy()
  }
}

function describeNetworkError (err: unknown): string {
  const e = err as { code?: string, message?: string, cause?: { code?: string, message?: string } }
  const code = e?.code ?? e?.cause?.code
  if (code === 'ECONNREFUSED') return 'connection refused (is the server running? see `pulp-middleware serve`)'
  if (code === 'ENOTFOUND') return 'host not found'
  return oneLine(String(e?.cause?.message ?? e?.message ?? err))
}

function errorMessage (text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } }
    if (typeof body?.error?.message === 'string') return oneLine(body.error.message)
  } catch {}
  return oneLine(text.slice(0, 200)) || 'no message'
}
