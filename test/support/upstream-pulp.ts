import { createHash } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { readdir, stat } from 'node:fs/promises'
import express from 'express'
import { pulpMiddleware, type CreateRemoteInput, type PulpOptions } from '../../lib'
import type { DialectName } from './databases'
import { startPulp, type TestPulp } from './pulp'
import { UpstreamServer } from './upstream-server'
import { eventually } from './fs-wait'

export interface FetchResult {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  /** False when the connection ended before the body did. */
  complete: boolean
}

export interface FetchOptions {
  method?: string
  headers?: Record<string, string>
  /** Destroy the request after this many body bytes arrived. */
  abortAfter?: number
  /** Called when the status and headers arrived. */
  onResponse?: (status: number) => void
}

/** A GET (or other method) over a real socket; a cut-off body is reported, not thrown. */
export async function fetchRaw (port: number, target: string, options: FetchOptions = {}): Promise<FetchResult> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: target, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      options.onResponse?.(res.statusCode ?? 0)
      const chunks: Buffer[] = []
      let received = 0
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete })
      }
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        received += c.length
        if (options.abortAfter !== undefined && received >= options.abortAfter) {
          req.destroy()
          finish()
        }
      })
      res.on('error', () => {})
      res.on('end', finish)
      res.on('close', finish)
    })
    req.on('error', (err) => { if (!req.destroyed || options.abortAfter === undefined) reject(err) })
    req.end()
  })
}

export function sha256 (bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** A pulp-middleware listening on a real port, an upstream server, and helpers to wire them. */
export interface PullThroughFixture {
  t: TestPulp
  upstream: UpstreamServer
  port: number
  /** GET (or `method`) `/pulp/content/<path>`. */
  get: (contentPath: string, options?: FetchOptions) => Promise<FetchResult>
  /** A remote on the upstream's `dir` and a distribution at `basePath` using it. */
  wire: (
    basePath: string,
    remote?: Partial<CreateRemoteInput> & { dir?: string },
    repository?: string
  ) => Promise<{ remote: string, distribution: string }>
  /** Polls HEAD until the path is a HIT (it is saved and recorded). */
  untilHit: (contentPath: string) => Promise<void>
  /** Whether the artifact store holds these bytes. */
  stored: (bytes: Buffer) => Promise<boolean>
  /** Files left in `tmp/`. */
  tmpFiles: () => Promise<string[]>
  cleanup: () => Promise<void>
}

let wired = 0

export async function startPullThrough (options: PulpOptions & { dialect?: DialectName } = {}): Promise<PullThroughFixture> {
  const t = await startPulp(options)
  const upstream = await UpstreamServer.start()
  const server: Server = await new Promise((resolve) => { const s = t.app.listen(0, '127.0.0.1', () => resolve(s)) })
  const port = (server.address() as AddressInfo).port
  return {
    t,
    upstream,
    port,
    get: async (contentPath, fetchOptions) => await fetchRaw(port, `/pulp/content/${contentPath}`, fetchOptions),
    async wire (basePath, remote = {}, repository) {
      const name = `r${++wired}`
      const { dir = 'files/', ...fields } = remote
      await t.pulp.remotes.create({ name, url: upstream.url(dir), ...fields })
      await t.pulp.distributions.create({ name: `d${wired}`, basePath, remote: name, ...(repository === undefined ? {} : { repository }) })
      return { remote: name, distribution: `d${wired}` }
    },
    async untilHit (contentPath) {
      await eventually(async () => (await fetchRaw(port, `/pulp/content/${contentPath}`, { method: 'HEAD' })).headers['x-pulp-cache'] === 'HIT',
        5000, `a HIT for ${contentPath}`)
    },
    async stored (bytes) {
      const digest = sha256(bytes)
      try {
        return (await stat(path.join(t.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2)))).isFile()
      } catch {
        return false
      }
    },
    async tmpFiles () {
      return await readdir(path.join(t.dataDir, 'tmp'))
    },
    async cleanup () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await upstream.close()
      await t.cleanup()
    }
  }
}

/** Another instance on a fixture's database and data directory, listening on a port of its own. */
export interface SecondInstance {
  port: number
  close: () => Promise<void>
}

export async function startSecondInstance (f: PullThroughFixture): Promise<SecondInstance> {
  const second = pulpMiddleware({ dataDir: f.t.dataDir, database: f.t.database, runner: false })
  await second.ready
  const app = express()
  app.use('/pulp', second)
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  return {
    port: (server.address() as AddressInfo).port,
    async close () {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await second.close()
    }
  }
}
