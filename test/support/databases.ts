import { randomBytes } from 'node:crypto'
import knexFactory, { type Knex } from 'knex'

/** The PostgreSQL server tests may use; `.ci/run` always sets it. */
export const PG_URL = process.env.PULP_TEST_PG_URL

export const PG_SKIP_REASON = PG_URL === undefined
  ? 'PostgreSQL tests skipped: set PULP_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run them'
  : false

export interface TestDatabase {
  /** A knex config for a database that exists only for this test. */
  config: Knex.Config
  drop: () => Promise<void>
}

/** Creates a fresh PostgreSQL database (dropped by `drop()`), so runs never share state. */
export async function createPgDatabase (): Promise<TestDatabase> {
  if (PG_URL === undefined) throw new Error(String(PG_SKIP_REASON))
  const name = `pulp_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } })
  try {
    await admin.raw(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.destroy()
  }
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  return {
    config: { client: 'pg', connection: url.toString(), pool: { min: 0, max: 10 } },
    drop: async () => {
      const again = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } })
      try {
        await again.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await again.destroy()
      }
    }
  }
}

export type DialectName = 'sqlite' | 'postgresql'

/**
 * The dialects a suite runs on: SQLite always, PostgreSQL when PULP_TEST_PG_URL is set.
 * `PULP_TEST_DIALECTS=postgresql` (or `sqlite`) narrows the list.
 */
export function dialects (): Array<{ name: DialectName, skip: string | false }> {
  const only = process.env.PULP_TEST_DIALECTS?.split(',').map((s) => s.trim())
  const all: Array<{ name: DialectName, skip: string | false }> = [
    { name: 'sqlite', skip: false },
    { name: 'postgresql', skip: PG_SKIP_REASON }
  ]
  return only === undefined ? all : all.filter((d) => only.includes(d.name))
}
