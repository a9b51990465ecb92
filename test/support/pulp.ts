import os from 'node:os'
import path from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import express, { type Express } from 'express'
import type { Knex } from 'knex'
import { pulpMiddleware, type PulpMiddleware, type PulpOptions } from '../../lib'
import { createPgDatabase, type DialectName } from './databases'

export async function tempDir (prefix = 'pulp-test-'): Promise<string> {
  return await mkdtemp(path.join(os.tmpdir(), prefix))
}

export interface TestPulp {
  app: Express
  pulp: PulpMiddleware
  dataDir: string
  /** The database the middleware uses, for a test's own connection (openConnection). */
  database?: Knex.Config
  /** Closes the middleware, drops a PostgreSQL database and removes the data directory. */
  cleanup: () => Promise<void>
}

/**
 * A real pulp-middleware mounted at `/pulp` in a fresh Express app, on a temp data directory
 * and either SQLite (default) or a fresh PostgreSQL database.
 */
export async function startPulp (options: PulpOptions & { dialect?: DialectName } = {}): Promise<TestPulp> {
  const { dialect = 'sqlite', ...pulpOptions } = options
  const dataDir = pulpOptions.dataDir ?? await tempDir()
  const db = dialect === 'postgresql' ? await createPgDatabase() : undefined
  const pulp = pulpMiddleware({ ...pulpOptions, dataDir, ...(db ? { database: db.config } : {}) })
  const app = express()
  app.use('/pulp', pulp)
  try {
    await pulp.ready
  } catch (err: unknown) {
    // A start that fails must not leave its database or directory behind either.
    await pulp.close()
    await db?.drop()
    if (pulpOptions.dataDir === undefined) await rm(dataDir, { recursive: true, force: true })
    throw err
  }
  return {
    app,
    pulp,
    dataDir,
    database: db?.config ?? { client: 'sqlite3', connection: { filename: path.join(dataDir, 'pulp.sqlite') }, useNullAsDefault: true },
    cleanup: async () => {
      await pulp.close()
      await db?.drop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}
