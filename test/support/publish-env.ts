import path from 'node:path'
import { rm } from 'node:fs/promises'
import express, { type Express } from 'express'
import request from 'supertest'
import type { Knex } from 'knex'
import { pulpMiddleware, type PulpMiddleware, type PulpOptions, type Task } from '../../lib'
import { createPgDatabase, type DialectName } from './databases'
import { eventually } from './fs-wait'
import { tempDir, type TestPulp } from './pulp'

export const API = '/pulp/api/v1'

/** supertest against the API of a test instance. */
export function api (t: { app: Express }): ReturnType<typeof request> {
  return request(t.app)
}

/** Adds a file unit through the programmatic API (the upload route has its own tests). */
export async function addFile (t: { pulp: PulpMiddleware }, repoId: string, relativePath: string, content: string | Buffer): Promise<void> {
  await t.pulp.repositories.addContent(repoId, { file: Buffer.from(content), relativePath })
}

export async function waitForState (t: { pulp: PulpMiddleware }, taskId: string, states: string[], ms = 10_000): Promise<Task> {
  let task: Task | undefined
  await eventually(async () => {
    task = await t.pulp.tasks.get(taskId)
    return states.includes(task.state)
  }, ms, `task ${taskId} to be ${states.join(' or ')}`)
  return task as Task
}

/** A database several instances (or processes) can open in turn: a SQLite file, or a fresh PostgreSQL one. */
export interface SharedDatabase {
  dataDir: string
  config: Knex.Config
  /** Plain JSON, for a child process. */
  describe: () => string
  drop: () => Promise<void>
}

export async function sharedDatabase (dialect: DialectName): Promise<SharedDatabase> {
  const dataDir = await tempDir('pulp-publish-')
  if (dialect === 'postgresql') {
    const db = await createPgDatabase()
    return {
      dataDir,
      config: db.config,
      describe: () => JSON.stringify({ client: 'pg', connection: db.config.connection }),
      drop: async () => { await db.drop(); await rm(dataDir, { recursive: true, force: true }) }
    }
  }
  const config = { client: 'sqlite3', connection: { filename: path.join(dataDir, 'pulp.sqlite') } }
  return {
    dataDir,
    config,
    describe: () => JSON.stringify(config),
    drop: async () => { await rm(dataDir, { recursive: true, force: true }) }
  }
}

/** An instance on a shared database; closing it leaves the database and data directory. */
export async function startOn (db: SharedDatabase, options: PulpOptions = {}): Promise<TestPulp> {
  const pulp = pulpMiddleware({ ...options, dataDir: db.dataDir, database: db.config })
  const app = express()
  app.use('/pulp', pulp)
  await pulp.ready
  return { app, pulp, dataDir: db.dataDir, cleanup: async () => { await pulp.close() } }
}
