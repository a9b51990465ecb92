import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import createDebug from 'debug'
import { openOwnConnection } from './own-connection'

const debug = createDebug('pulp:storage:locks')

/** What we use of a raw driver connection: its lifecycle events. */
interface RawConnection {
  on: (event: 'error' | 'end', listener: (err?: unknown) => void) => unknown
}

/** A query to run on a given connection (knex builders and raws both take one). */
export type OnConnection<T> = (knex: Knex) => { connection: (conn: unknown) => PromiseLike<T> }

/** A PostgreSQL session lock this instance holds. */
export interface AdvisoryLock {
  /** False once the connection holding it broke: PostgreSQL has let it go. */
  readonly held: boolean
  unlock: () => Promise<void>
}

/** A stable signed 64-bit key for a lock name, as PostgreSQL's bigint advisory locks take. */
export function advisoryKey (name: string): string {
  const digest = createHash('sha256').update(name).digest()
  return digest.readBigInt64BE(0).toString()
}

/**
 * PostgreSQL session-level advisory locks, all held on one connection of their own (outside
 * the pool, so a lock can never stay behind on a pooled connection someone else gets). When
 * the process dies, PostgreSQL sees the connection close and frees every lock at once: that is
 * how other instances learn a leader is gone, with no lease to wait out. The bookkeeping that
 * goes with the locks runs here too (`run`), committed without waiting for the WAL flush: it
 * describes work in progress, which a server crash ends anyway.
 */
export class AdvisoryLocks {
  readonly #knex: Knex
  #connection: Promise<unknown> | undefined
  /** The open lock connection, once connected. */
  #current: unknown
  /** Locks taken on the current connection; they all go when it breaks. */
  #onConnection = new Set<{ held: boolean }>()
  #closed = false

  constructor (knex: Knex) {
    this.#knex = knex
  }

  /** Takes the lock named `name` if nobody holds it; undefined when somebody (even this instance) does. */
  async tryLock (name: string): Promise<AdvisoryLock | undefined> {
    const key = advisoryKey(name)
    const conn = await this.#connect()
    const result = await this.#knex.raw('select pg_try_advisory_lock(?::bigint) as locked', [key]).connection(conn) as { rows: Array<{ locked: boolean }> }
    // A connection that broke meanwhile took the lock with it.
    if (result.rows[0]?.locked !== true || conn !== this.#current) return undefined
    const state = { held: true }
    const locks = this.#onConnection
    locks.add(state)
    return {
      get held () { return state.held },
      unlock: async () => {
        if (!state.held) return
        state.held = false
        locks.delete(state)
        try {
          await this.#knex.raw('select pg_advisory_unlock(?::bigint)', [key]).connection(conn)
        } catch (err: unknown) {
          // A lock we could not give back must not outlive this call: drop the connection.
          debug('unlocking %s failed (%s); closing the lock connection', name, (err as Error).message)
          await this.#reset(conn)
        }
      }
    }
  }

  /** Runs a query on the lock connection. */
  async run<T> (query: OnConnection<T>): Promise<T> {
    return await query(this.#knex).connection(await this.#connect())
  }

  /** Frees every lock (by closing their connection). */
  async close (): Promise<void> {
    this.#closed = true
    const conn = await this.#connection?.catch(() => undefined)
    if (conn !== undefined) await this.#reset(conn)
  }

  async #connect (): Promise<unknown> {
    if (this.#closed) throw new Error('the lock connection is closed')
    this.#connection ??= (async () => {
      const conn = await openOwnConnection(this.#knex)
      const lost = (): void => {
        if (conn !== this.#current) return
        debug('the lock connection closed: %d locks lost', this.#onConnection.size)
        this.#forget()
      }
      ;(conn as RawConnection).on('error', lost)
      ;(conn as RawConnection).on('end', lost)
      try {
        await this.#knex.raw('set synchronous_commit = off').connection(conn)
      } catch (err: unknown) {
        await this.#knex.client.destroyRawConnection(conn).catch(() => {})
        throw err
      }
      this.#current = conn
      debug('lock connection open')
      return conn
    })()
    // A failed connect is forgotten, so the next call tries again.
    this.#connection.catch(() => { this.#connection = undefined })
    return await this.#connection
  }

  /** Every lock of the current connection is gone (or about to be). */
  #forget (): void {
    for (const lock of this.#onConnection) lock.held = false
    this.#onConnection = new Set()
    this.#connection = undefined
    this.#current = undefined
  }

  async #reset (conn: unknown): Promise<void> {
    if (conn === this.#current) this.#forget()
    await this.#knex.client.destroyRawConnection(conn).catch((err: unknown) => debug('closing the lock connection: %s', (err as Error).message))
  }
}
