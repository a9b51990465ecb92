import type { Knex } from 'knex'
import createDebug from 'debug'
import type { OnConnection } from './advisory-locks'
import { openOwnConnection } from './own-connection'

const debug = createDebug('pulp:storage:locks')

/**
 * A second SQLite connection, for small bookkeeping writes that need not survive a power cut
 * (pull-through leases): with `synchronous = NORMAL` a commit in WAL mode skips the fsync that
 * is most of its cost, and the database stays consistent whatever happens. Queries go one at a
 * time, so a wait for the write lock occupies at most one of libuv's threads. A database that
 * lives in memory has no second connection: queries then take the pool's.
 */
export class SqliteSideConnection {
  readonly #knex: Knex
  readonly #separate: boolean
  #connection: Promise<unknown> | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor (knex: Knex) {
    this.#knex = knex
    const settings = (knex.client as { connectionSettings?: { filename?: unknown } }).connectionSettings
    const filename = typeof settings?.filename === 'string' ? settings.filename : ''
    this.#separate = filename !== '' && !filename.startsWith(':memory:') && !filename.includes('mode=memory')
  }

  async run<T> (query: OnConnection<T>): Promise<T> {
    if (!this.#separate) return await (query(this.#knex) as unknown as PromiseLike<T>)
    const next = this.#queue.then(async () => await query(this.#knex).connection(await this.#connect()))
    this.#queue = next.then(() => {}, () => {})
    return await next
  }

  async close (): Promise<void> {
    this.#closed = true
    const conn = await this.#connection?.catch(() => undefined)
    this.#connection = undefined
    if (conn !== undefined) await this.#knex.client.destroyRawConnection(conn).catch((err: unknown) => debug('closing: %s', (err as Error).message))
  }

  async #connect (): Promise<unknown> {
    if (this.#closed) throw new Error('the lease connection is closed')
    this.#connection ??= (async () => {
      const conn = await openOwnConnection(this.#knex)
      try {
        // Wait for the write lock as the pool's connections do; skip the fsync per commit.
        await this.#knex.raw('PRAGMA busy_timeout = 10000').connection(conn)
        await this.#knex.raw('PRAGMA synchronous = NORMAL').connection(conn)
      } catch (err: unknown) {
        await this.#knex.client.destroyRawConnection(conn).catch(() => {})
        throw err
      }
      return conn
    })()
    this.#connection.catch(() => { this.#connection = undefined })
    return await this.#connection
  }
}
