import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import os from 'node:os'
import path from 'node:path'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { createStaticTree, type StaticTreeOptions } from '../../lib/static-tree/static-tree'

/** A data directory on disk, with a secret file next to it that must never be served. */
export interface ContentFixture {
  /** The temp dir holding `data/` and `secret.txt`. */
  root: string
  dataDir: string
  secretPath: string
  secret: string
  cleanup: () => Promise<void>
}

export async function makeFixture (): Promise<ContentFixture> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pulp-content-'))
  const dataDir = path.join(root, 'data')
  await mkdir(dataDir)
  const secretPath = path.join(root, 'secret.txt')
  const secret = `TOP-SECRET-${randomBytes(8).toString('hex')}`
  await writeFile(secretPath, secret)
  return { root, dataDir, secretPath, secret, cleanup: async () => { await rm(root, { recursive: true, force: true }) } }
}

export function sha256 (data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Writes `data` under `artifacts/<sha256[0:2]>/<sha256[2:]>`, named by its real digest. */
export async function addArtifact (dataDir: string, data: Buffer | string): Promise<{ sha256: string, path: string }> {
  const digest = sha256(data)
  const file = path.join(dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2))
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, data)
  return { sha256: digest, path: file }
}

/**
 * Builds `publications/<repo>/<dist>/<id>/` the way the web distributor does: every file a
 * symlink into `artifacts/`, plus a regular PULP_MANIFEST.
 */
export async function buildPublication (
  dataDir: string,
  id: string,
  files: Readonly<Record<string, Buffer | string>>,
  { repo = 'repo', dist = 'web' }: { repo?: string, dist?: string } = {}
): Promise<string> {
  const dir = path.join(dataDir, 'publications', repo, dist, id)
  await mkdir(dir, { recursive: true })
  const manifest: string[] = []
  for (const [relativePath, data] of Object.entries(files)) {
    const artifact = await addArtifact(dataDir, data)
    const link = path.join(dir, relativePath)
    await mkdir(path.dirname(link), { recursive: true })
    await symlink(artifact.path, link)
    manifest.push(`${relativePath},${artifact.sha256},${Buffer.byteLength(data)}`)
  }
  await writeFile(path.join(dir, 'PULP_MANIFEST'), manifest.join('\n') + '\n')
  return dir
}

/** Points `publish/<scheme>/<relativeUrl>` at `target` atomically: a new link renamed over the old. */
export async function publish (dataDir: string, scheme: 'http' | 'https', relativeUrl: string, target: string): Promise<void> {
  const link = path.join(dataDir, 'publish', scheme, relativeUrl)
  await mkdir(path.dirname(link), { recursive: true })
  const staging = `${link}.${randomBytes(4).toString('hex')}.tmp`
  await symlink(target, staging)
  await rename(staging, link)
}

export interface ContentServer {
  app: Express
  server: Server
  port: number
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** Every error that reached the app's error handler (which answers 500): should stay empty. */
  errors: unknown[]
  close: () => Promise<void>
}

/**
 * An Express app with the static tree at `mount` (default `/content`), a final JSON 404 and
 * an error handler that records what reaches it, listening on a free loopback port. `before`
 * runs first (e.g. `trust proxy`, request spies).
 */
export async function startContentServer (
  dataDir: string,
  options: Partial<StaticTreeOptions> & { mount?: string, before?: (app: Express) => void } = {}
): Promise<ContentServer> {
  const { mount = '/content', before, ...tree } = options
  const app = express()
  before?.(app)
  const handler = createStaticTree({ dataDir, indexes: true, cacheControl: 'public, max-age=0, must-revalidate', ...tree })
  if (mount === '/') app.use(handler)
  else app.use(mount, handler)
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'ERR_PULP_NOT_FOUND', message: 'not found' } })
  })
  const errors: unknown[] = []
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    errors.push(err)
    if (!res.headersSent) res.status(500).json({ error: { code: 'ERR_PULP_INTERNAL', message: 'internal server error' } })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  return {
    app,
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    errors,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Deterministic pseudo-random bytes, so a failing range test shows the same data every run. */
export function patternBytes (size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    buf[i] = x >>> 16
  }
  return buf
}
