import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { rm } from 'node:fs/promises'
import express from 'express'
import request from 'supertest'
import knexFactory, { type Knex } from 'knex'
import { pulpMiddleware } from '../lib'
import { createPgDatabase, dialects, type DialectName } from './support/databases'
import { startPulp, tempDir, type TestPulp } from './support/pulp'

/** The `database` option for a fresh database of `dialect` (undefined: the SQLite default) and how to drop it. */
async function databaseFor (dialect: DialectName): Promise<{ database?: Knex.Config, drop: () => Promise<void> }> {
  if (dialect === 'sqlite') return { drop: async () => {} }
  const db = await createPgDatabase()
  return { database: db.config, drop: db.drop }
}

for (const d of dialects()) {
  describe(`pulpMiddleware() (${d.name})`, { skip: d.skip }, () => {
    const cleanups: Array<() => Promise<void>> = []
    after(async () => { for (const c of cleanups.reverse()) await c() })

    it('is a named Express handler with ready, close and the programmatic API', async () => {
      const t: TestPulp = await startPulp({ dialect: d.name })
      cleanups.push(t.cleanup)
      assert.equal(t.pulp.name, 'pulpMiddleware')
      assert.equal(typeof t.pulp.close, 'function')
      assert.equal(typeof t.pulp.repositories.create, 'function')
      const status = await request(t.app).get('/pulp/api/v1/status').expect(200)
      assert.equal(status.body.database.dialect, d.name)
      assert.equal(status.body.database.reachable, true)
      assert.match(status.body.versions.pulp_middleware, /^\d+\.\d+\.\d+/)
    })

    it('works mounted at any path, and twice in one app with two data directories', async () => {
      const [d1, d2] = [await tempDir(), await tempDir()]
      const [db1, db2] = [await databaseFor(d.name), await databaseFor(d.name)]
      const a = pulpMiddleware({ dataDir: d1, database: db1.database })
      const b = pulpMiddleware({ dataDir: d2, database: db2.database, apiPath: '/rest' })
      cleanups.push(async () => {
        await a.close(); await b.close()
        await db1.drop(); await db2.drop()
        await rm(d1, { recursive: true, force: true }); await rm(d2, { recursive: true, force: true })
      })
      const app = express()
      app.use('/one', a)
      app.use('/deep/two', b)
      app.get('/host', (_req, res) => { res.send('host route') })
      await request(app).post('/one/api/v1/repositories').send({ id: 'in-a' }).expect(201)
      await request(app).post('/deep/two/rest/repositories').send({ id: 'in-b' }).expect(201)
      assert.equal((await request(app).get('/one/api/v1/repositories/in-b')).status, 404)
      assert.equal((await request(app).get('/deep/two/rest/repositories/in-a')).status, 404)
      assert.equal((await request(app).get('/deep/two/rest/repositories/in-b')).status, 200)
      assert.equal((await request(app).get('/host')).text, 'host route')
      assert.ok((await a.repositories.list()).results.some((r) => r.id === 'in-a'))
    })

    it('routes content requests as a router mount would: below contentPath only, paths trimmed, the host keeping the rest', async () => {
      const t: TestPulp = await startPulp({ dialect: d.name })
      cleanups.push(t.cleanup)
      await t.pulp.ready
      // Whatever pulp leaves goes on to the host, with the URL it came in with.
      t.app.use((req, res) => { res.status(299).json({ url: req.url, baseUrl: req.baseUrl }) })
      for (const target of ['/pulp/content/missing/file', '/pulp/Content/missing/file', '/pulp/content/missing/file?x=1']) {
        const res = await request(t.app).get(target)
        assert.equal(res.status, 404, target)
        assert.match(res.body.error.message, /nothing is published at \/missing\/file$/, target)
      }
      for (const target of ['/pulp/content', '/pulp/content?x=1', '/pulp/content/']) {
        assert.equal((await request(t.app).get(target)).status, 200, target)
      }
      const host = await request(t.app).get('/pulp/contentx/a?b=1')
      assert.equal(host.status, 299)
      assert.deepEqual(host.body, { url: '/pulp/contentx/a?b=1', baseUrl: '' })
    })

    it('holds requests that arrive before ready instead of failing them', async () => {
      const dir = await tempDir()
      const db = await databaseFor(d.name)
      const pulp = pulpMiddleware({ dataDir: dir, database: db.database })
      cleanups.push(async () => { await pulp.close(); await db.drop(); await rm(dir, { recursive: true, force: true }) })
      const app = express()
      app.use(pulp)
      // Sent before anyone awaited `ready`: the migrations have not run yet.
      const res = await request(app).post('/api/v1/repositories').send({ id: 'early' })
      assert.equal(res.status, 201)
      const earlyDir = await tempDir()
      const earlyDb = await databaseFor(d.name)
      const early = pulpMiddleware({ dataDir: earlyDir, database: earlyDb.database })
      cleanups.push(async () => { await early.close(); await earlyDb.drop(); await rm(earlyDir, { recursive: true, force: true }) })
      assert.equal((await early.repositories.create({ id: 'before-ready' })).id, 'before-ready')
    })

    it('answers 503 after close, and leaves a host-owned knex instance open', async () => {
      const dir = await tempDir()
      const db = d.name === 'postgresql' ? await createPgDatabase() : undefined
      const knex = db !== undefined
        ? knexFactory(db.config)
        : knexFactory({ client: 'sqlite3', connection: { filename: path.join(dir, 'host.sqlite') }, useNullAsDefault: true })
      const pulp = pulpMiddleware({ dataDir: dir, database: knex })
      cleanups.push(async () => { await knex.destroy(); await db?.drop(); await rm(dir, { recursive: true, force: true }) })
      await pulp.ready
      const app = express()
      app.use(pulp)
      await pulp.close()
      const res = await request(app).get('/api/v1/repositories')
      assert.equal(res.status, 503)
      assert.equal(res.body.error.code, 'ERR_PULP_CLOSED')
      const rows = await knex('pulp_repositories').count({ n: '*' })
      assert.equal(Number(rows[0].n), 0, 'the host\'s knex still answers')
    })

    it('rejects ready, and answers 503, when the database cannot be opened', async () => {
      const dir = await tempDir()
      // A directory where the database file should be, or a server nobody listens for.
      const database: Knex.Config = d.name === 'sqlite'
        ? { client: 'sqlite3', connection: { filename: dir }, acquireConnectionTimeout: 2000 }
        : { client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/none', pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2000 }
      const pulp = pulpMiddleware({ dataDir: dir, database })
      cleanups.push(async () => { await pulp.close(); await rm(dir, { recursive: true, force: true }) })
      await assert.rejects(pulp.ready)
      const app = express()
      app.use(pulp)
      const res = await request(app).get('/api/v1/repositories')
      assert.equal(res.status, 503)
      assert.doesNotMatch(res.text, /nobody|127\.0\.0\.1:1|pulp-test-/)
    })
  })
}
