import path from 'node:path'
import { mkdirSync } from 'node:fs'
import knexFactory, { type Knex } from 'knex'
import createDebug from 'debug'

const debug = createDebug('pulp:storage')

export type Dialect = 'sqlite' | 'postgresql'

export interface Connection {
  readonly knex: Knex
  readonly dialect: Dialect
  /** True when we opened the connection, so `close()` must destroy it. */
  readonly owned: boolean
}

function isKnexInstance (value: unknown): value is Knex {
  return typeof value === 'function' && typeof (value as Knex).raw === 'function'
}

export function dialectOf (knex: Knex): Dialect {
  const client = String((knex.client as { config?: { client?: unknown } }).config?.client ?? knex.client.dialect ?? '')
  if (/^(pg|postgres|postgresql)$/i.test(client) || knex.client.dialect === 'postgresql') return 'postgresql'
  if (/sqlite/i.test(client) || knex.client.dialect === 'sqlite3') return 'sqlite'
  throw new TypeError(`pulpMiddleware: option "database" uses client "${client}"; supported are sqlite3 and pg`)
}

/** SQLite settings that let several connections (and processes) share one file safely. */
function sqliteAfterCreate (conn: { run: (sql: string, cb: (err: Error | null) => void) => void },
  done: (err: Error | null, conn: unknown) => void): void {
  conn.run('PRAGMA journal_mode = WAL', (err) => {
    if (err) return done(err, conn)
    conn.run('PRAGMA busy_timeout = 10000', (err2) => {
      if (err2) return done(err2, conn)
      conn.run('PRAGMA foreign_keys = ON', (err3) => {
        if (err3) return done(err3, conn)
        // In WAL mode NORMAL syncs at checkpoints rather than at every commit: a crash of the
        // process loses nothing, a power cut may lose the last commits (never corrupts). Those
        // can only be records of files already on disk (orphans for cleanup), never records
        // without their files; every commit waiting on a disk flush cost the pull-through
        // milliseconds per request (a lease claim, a renewal).
        conn.run('PRAGMA synchronous = NORMAL', (err4) => done(err4, conn))
      })
    })
  })
}

interface SqliteTransactionClass { new (...args: unknown[]): { query: (conn: unknown, sql: string) => Promise<unknown> } }

/**
 * knex's sqlite3 client, except that transactions begin IMMEDIATE. knex's plain BEGIN starts a
 * read transaction that must upgrade at its first write; in WAL mode that upgrade fails with
 * SQLITE_BUSY at once, without waiting, whenever another process wrote in between, so
 * read-then-write transactions from several processes on one file would fail. IMMEDIATE takes
 * the write lock up front, waiting up to busy_timeout for it.
 */
function immediateSqliteClient (): Knex.Config['client'] {
  // knex publishes no types for its dialect classes, so `import` could not name them.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Sqlite3Client = require('knex/lib/dialects/sqlite3') as new (...args: unknown[]) => object
  const SqliteTransaction = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction') as SqliteTransactionClass
  /* eslint-enable @typescript-eslint/no-require-imports */
  class ImmediateTransaction extends SqliteTransaction {
    async begin (conn: unknown): Promise<unknown> {
      return await this.query(conn, 'BEGIN IMMEDIATE;')
    }
  }
  return class ImmediateSqlite3Client extends Sqlite3Client {
    transaction (...args: unknown[]): unknown {
      return new ImmediateTransaction(this, ...args)
    }
  } as unknown as Knex.Config['client']
}

/**
 * Opens (or adopts) the knex connection the options describe. knex connects lazily, so this is
 * synchronous and the factory can hand out its programmatic API at once.
 */
export function openConnection (database: Knex.Config | Knex | undefined, dataDir: string): Connection {
  if (isKnexInstance(database)) {
    return { knex: database, dialect: dialectOf(database), owned: false }
  }
  let config: Knex.Config
  if (database === undefined) {
    mkdirSync(dataDir, { recursive: true })
    config = { client: 'sqlite3', connection: { filename: path.join(dataDir, 'pulp.sqlite') } }
  } else {
    config = { ...database }
  }
  if (/sqlite/i.test(String(config.client))) {
    config = {
      useNullAsDefault: true,
      ...config,
      client: config.client === 'sqlite3' ? immediateSqliteClient() : config.client,
      pool: { min: 1, max: 1, ...config.pool, afterCreate: config.pool?.afterCreate ?? sqliteAfterCreate }
    }
  }
  const knex = knexFactory(config)
  const dialect = dialectOf(knex)
  debug('opened %s connection', dialect)
  return { knex, dialect, owned: true }
}
