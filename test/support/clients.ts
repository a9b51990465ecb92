import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import express from 'express'
import { pulpMiddleware, type PulpOptions } from '../../lib'

/** The programs the real-client suite runs, each with the Debian package that brings it. */
export const CLIENTS = {
  'apt-get': 'apt',
  'apt-ftparchive': 'apt-utils',
  'dpkg-deb': 'dpkg',
  python3: 'python3-pip',
  git: 'git',
  npm: 'npm',
  wget: 'wget',
  curl: 'curl',
  chromium: 'chromium'
} as const

export type Client = keyof typeof CLIENTS

/** True when `binary` is an executable on PATH (or, for Chromium, Debian's /usr/bin/chromium). */
export function installed (binary: Client): boolean {
  if (binary === 'chromium') return existsSync('/usr/bin/chromium')
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, binary)))
}

/**
 * The `skip` option for a test that needs these clients. Outside CI a missing client skips with
 * the package to install; with CI=true nothing is skipped, so the test fails where it runs the
 * program (and test/clients/installed.test.ts names what is missing).
 */
export function skipUnless (...binaries: Client[]): string | false {
  const missing = binaries.filter((b) => !installed(b))
  if (missing.length === 0 || process.env.CI === 'true') return false
  return `not installed: ${missing.join(', ')} (apt-get install -y ${missing.map((b) => CLIENTS[b]).join(' ')})`
}

/** Every regular file under `root`, keyed by its path relative to it (forward slashes). */
export async function readTree (root: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {}
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const full = path.join(entry.parentPath ?? entry.path, entry.name)
    files[path.relative(root, full).split(path.sep).join('/')] = await readFile(full)
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

export interface LoggedContentRequest {
  method: string
  /** The request target as sent, below the origin (`/pulp/content/...`). */
  url: string
  status: number
  range: string | undefined
}

/**
 * A real pulp-middleware on a loopback port whose one repository is published by the `web`
 * distributor, built through the REST API as a user would: upload, distributor, publish.
 */
export interface PublishedSite {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** The published tree's URL, `<origin>/pulp/content/<relativeUrl>` (no trailing slash). */
  url: string
  /** Every request that reached the app, in order. */
  requests: LoggedContentRequest[]
  /** Uploads the files (a unit per path, replacing one at the same path) and publishes, waiting for the task. */
  publish: (files: Record<string, Buffer | string>) => Promise<void>
  close: () => Promise<void>
}

let sites = 0

export async function startSite (options: { relativeUrl?: string, pulp?: PulpOptions } = {}): Promise<PublishedSite> {
  const repoId = `site-${++sites}`
  const relativeUrl = options.relativeUrl ?? repoId
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pulp-site-'))
  const pulp = pulpMiddleware({ dataDir, runner: { pollInterval: 0.05 }, ...options.pulp })
  const app = express()
  const requests: LoggedContentRequest[] = []
  app.use((req, res, next) => {
    res.once('finish', () => requests.push({ method: req.method, url: req.originalUrl, status: res.statusCode, range: req.headers.range }))
    next()
  })
  app.use('/pulp', pulp)
  await pulp.ready
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const api = `${origin}/pulp/api/v1`

  async function call (method: string, url: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(url, {
      method,
      ...(body instanceof FormData ? { body } : body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    })
    const answer = await res.json() as Record<string, unknown>
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(answer)}`)
    return answer
  }
  await call('POST', `${api}/repositories`, { id: repoId })
  await call('POST', `${api}/repositories/${repoId}/distributors`, { distributor_type_id: 'web', distributor_config: { relative_url: relativeUrl } })

  return {
    origin,
    url: `${origin}/pulp/content/${relativeUrl}`,
    requests,
    async publish (files) {
      for (const [relativePath, content] of Object.entries(files)) {
        const form = new FormData()
        form.append('relative_path', relativePath)
        form.append('file', new Blob([content]), path.posix.basename(relativePath))
        await call('POST', `${api}/repositories/${repoId}/content`, form)
      }
      const task = await call('POST', `${api}/repositories/${repoId}/actions/publish?wait=30`, { id: 'web' })
      if (task.state !== 'finished' && task.state !== 'skipped') throw new Error(`publish ended ${String(task.state)}: ${JSON.stringify(task.error)}`)
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pulp.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/**
 * An environment with nothing of this machine's but PATH and the locale: the client's own HOME
 * (so no ~/.config, ~/.npmrc, ~/.gitconfig, ~/.pip), no proxies, no PIP_/npm_config_ settings.
 */
export function isolatedEnv (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMPDIR: os.tmpdir(), ...extra }
}
