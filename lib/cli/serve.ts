import path from 'node:path'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Knex } from 'knex'
import { pulpMiddleware } from '../middleware'
import { CommandError } from '../errors'

export interface ServeOptions {
  port: string
  host: string
  dataDir: string
  /** `postgres://...` for PostgreSQL, else the path of a SQLite file; empty: `<dataDir>/pulp.sqlite`. */
  database?: string
}

export interface Served {
  url: string
  dataDir: string
  database: 'sqlite' | 'postgresql'
  /** Resolves when a signal has shut the server down. */
  closed: Promise<void>
}

/** `--database`: a PostgreSQL URL, or a SQLite file path. */
export function databaseConfig (value: string | undefined): Knex.Config | undefined {
  if (value === undefined || value === '') return undefined
  if (/^postgres(ql)?:\/\//i.test(value)) return { client: 'pg', connection: value }
  return { client: 'sqlite3', connection: { filename: path.resolve(value) } }
}

function portOf (value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CommandError(`--port must be 0-65535, not ${JSON.stringify(value)}`, 2)
  return port
}

/**
 * The standalone server: the middleware at `/pulp` of an Express app. SIGINT or SIGTERM stops
 * it taking requests, closes the middleware (running publishes finish or are canceled, the
 * database closes) and resolves `closed`.
 */
export async function serve (options: ServeOptions): Promise<Served> {
  const port = portOf(options.port)
  const dataDir = path.resolve(options.dataDir)
  const database = databaseConfig(options.database)
  const pulp = pulpMiddleware({ dataDir, ...(database === undefined ? {} : { database }) })
  const app = express()
  app.use('/pulp', pulp)
  app.get('/', (_req, res) => { res.redirect(302, '/pulp/') })
  try {
    await pulp.ready
  } catch (err: unknown) {
    await pulp.close().catch(() => {})
    throw new CommandError(`cannot start: ${(err as Error).message}`, 1, { cause: err })
  }
  const server = app.listen(port, options.host)
  // Nothing of ours sits between the server and the content: answer it before Express.
  pulp.attach(server, { mountPath: '/pulp' })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
  } catch (err: unknown) {
    await pulp.close().catch(() => {})
    throw new CommandError(`cannot listen on ${options.host}:${port}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1, { cause: err })
  }
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const closed = new Promise<void>((resolve, reject) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      Promise.all([serverClosed, pulp.close()]).then(() => resolve(), reject)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  return { url: `http://${host}:${address.port}/pulp`, dataDir, database: /^pg$|postg/i.test(String(database?.client ?? '')) ? 'postgresql' : 'sqlite', closed }
}
