import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { rm } from 'node:fs/promises'
import knexFactory, { type Knex } from 'knex'
import { migrateLatest, MIGRATION_NAMES, MIGRATIONS_TABLE } from '../../lib/storage/migrations'
import { openConnection } from '../../lib/storage/connection'
import { createPgDatabase, dialects, type TestDatabase } from '../support/databases'
import { tempDir } from '../support/pulp'

const run = promisify(execFile)

async function tables (knex: Knex, dialect: string): Promise<string[]> {
  const rows = dialect === 'sqlite'
    ? await knex('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').pluck('name')
    : await knex('information_schema.tables').where({ table_schema: 'public' }).pluck('table_name')
  return (rows as string[]).sort()
}

for (const d of dialects()) {
  describe(`migrations (${d.name})`, { skip: d.skip }, () => {
    async function fresh (): Promise<{ config: Knex.Config, dir: string, db?: TestDatabase }> {
      const dir = await tempDir()
      if (d.name === 'sqlite') return { config: { client: 'sqlite3', connection: { filename: path.join(dir, 'pulp.sqlite') }, useNullAsDefault: true }, dir }
      const db = await createPgDatabase()
      return { config: db.config, dir, db }
    }

    it('creates only pulp_-prefixed tables and keeps its own migrations table', async () => {
      const { config, dir, db } = await fresh()
      const { knex } = openConnection(config, dir)
      try {
        await migrateLatest(knex)
        const names = await tables(knex, d.name)
        assert.ok(names.includes(MIGRATIONS_TABLE), `missing ${MIGRATIONS_TABLE} in ${names.join(',')}`)
        assert.ok(names.includes('pulp_repositories'))
        assert.deepEqual(names.filter((n) => !n.startsWith('pulp_')), [])
        assert.ok(!names.includes('knex_migrations'), 'must not touch the host app\'s knex_migrations')
      } finally {
        await knex.destroy()
        await db?.drop()
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('is idempotent: a second run applies nothing and keeps the data', async () => {
      const { config, dir, db } = await fresh()
      const { knex } = openConnection(config, dir)
      try {
        await migrateLatest(knex)
        await knex('pulp_repositories').insert({ id: 'keep', notes: '{}', content_version: 0, created: 'x', updated: 'x' })
        await migrateLatest(knex)
        const applied = await knex(MIGRATIONS_TABLE).count({ n: '*' })
        assert.equal(Number(applied[0].n), MIGRATION_NAMES.length)
        assert.equal((await knex('pulp_repositories').pluck('id'))[0], 'keep')
      } finally {
        await knex.destroy()
        await db?.drop()
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('is safe when three processes migrate the same empty database at once', async () => {
      const { config, dir, db } = await fresh()
      const child = path.join(__dirname, '..', 'support', 'migrate-child.ts')
      try {
        const results = await Promise.all([1, 2, 3].map(async () =>
          await run(process.execPath, ['--import', 'tsx', child, JSON.stringify(config)], { timeout: 60_000 })))
        for (const r of results) assert.match(r.stdout, /migrated/)
        const knex = knexFactory(config)
        try {
          const names = (await knex(MIGRATIONS_TABLE).pluck('name')) as string[]
          assert.deepEqual(names, [...MIGRATION_NAMES])
        } finally {
          await knex.destroy()
        }
      } finally {
        await db?.drop()
        await rm(dir, { recursive: true, force: true })
      }
    })
  })
}
