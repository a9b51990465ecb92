import { Agent, request, type Dispatcher } from 'undici'
import type { Readable } from 'node:stream'
import { CommandError } from '../errors'

/** Where the REST API sits below the mount point (the middleware's default `apiPath`). */
const API_PATH = '/api/v1'

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

/** The first line of anything thrown, so no stack trace or multi-line dump reaches stderr. */
export function oneLine (message: string): string {
  return message.split('\n')[0].trim()
}

/** A thin client of the REST API: JSON in and out, errors as one readable line. */
export class ApiClient {
  readonly base: string
  readonly #token: string | undefined
  readonly #agent: Agent

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
    this.#agent = new Agent({ connections: options.connections ?? 4, keepAliveTimeout: 10_000 })
  }

  /** `path` below the API, e.g. `/repositories`; `query` values that are undefined are left out. */
  apiUrl (path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(`${this.base}${API_PATH}${path}`)
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value))
    return url.href
  }

  async json<T = unknown> (
    method: Dispatcher.HttpMethod,
    path: string,
    options: { query?: Record<string, string | number | undefined>, body?: unknown } = {}
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    let body: string | undefined
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.body)
    }
    return await this.#send<T>(method, this.apiUrl(path, options.query), headers, body)
  }

  /** Sends a streamed body of known length (an upload); answers the parsed JSON. */
  async send<T = unknown> (method: Dispatcher.HttpMethod, path: string, raw: RawBody): Promise<T> {
    const headers = { accept: 'application/json', 'content-type': raw.contentType, 'content-length': String(raw.length) }
    return await this.#send<T>(method, this.apiUrl(path), headers, raw.body)
  }

  async #send<T> (method: Dispatcher.HttpMethod, url: string, headers: Record<string, string>, body?: string | Readable): Promise<T> {
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, { method, headers, body, dispatcher: this.#agent })
    } catch (err: unknown) {
      throw new CommandError(`${method} ${url}: ${describeNetworkError(err)}`, 1, { cause: err })
    }
    const text = await res.body.text()
    if (res.statusCode >= 400) throw new CommandError(`${method} ${url}: ${res.statusCode} ${errorMessage(text)}`)
    if (text === '') return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new CommandError(`${method} ${url}: the answer is not JSON (is --url the middleware's mount point?)`)
    }
  }

  async close (): Promise<void> {
    await this.#agent.close()
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
