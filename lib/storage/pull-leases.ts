import type { Knex } from 'knex'
import createDebug from 'debug'
import type { Dialect } from './connection'
import { AdvisoryLocks, type AdvisoryLock } from './advisory-locks'
import { SqliteSideConnection } from './sqlite-side-connection'
import { now } from './rows'

const debug = createDebug('pulp:storage:locks')

const TABLE = 'pulp_pull_downloads'

/** How long a SQLite lease lasts without renewal; renewed three times as often. */
const DEFAULT_LEASE_MS = 10_000

/** A leader's row: `starting` until the upstream answers, then `streaming`; `failed` lingers briefly. */
export type PullState = 'starting' | 'streaming' | 'failed'

/** What the instance leading a path's download last said about it. */
export interface PullProgress {
  owner: string
  state: PullState
  /** The file it writes, a plain name under `tmp/`. */
  file: string | null
  /** The caller's own JSON (what the upstream said), opaque here. */
  head: string | null
  /** The caller's own JSON (why it failed), opaque here. */
  error: string | null
  /** Where the leader runs (see `localHost`) and its pid, for a liveness check on the same host; null if unknown. */
  host: string | null
  pid: number | null
}

export type PullUpdate = Partial<Pick<PullProgress, 'state' | 'head'>>

/** The right to fetch one path for every instance, and the row that tells them how it goes. */
export interface PullLease {
  readonly owner: string
  /** False once another instance may have taken over (the lock connection broke, the lease ran out). */
  readonly held: boolean
  /** Writes progress, in call order. */
  update: (fields: PullUpdate) => Promise<void>
  /**
   * Deletes the row within the caller's transaction, so that it goes exactly when the path is
   * recorded: whoever finds no row finds the path saved. Then `release({ retired: true })`.
   */
  retire: (trx: Knex) => Promise<void>
  /**
   * Lets go. The row goes (unless retired); a `failure` (the caller's JSON) is recorded instead
   * and stays readable for `keepMs`, for instances that waited.
   */
  release: (options?: PullRelease) => Promise<void>
}

export type PullRelease = { retired: true } | { failure: string | null, keepMs: number }

/** What a new leader learns as it takes a path. */
export interface PullClaim {
  lease: PullLease
  /** The file a leader before it left behind (it died), for removal. */
  previousFile: string | null
  /** The sha256 the remote's path is recorded with, if a leader before this one saved it. */
  savedSha256: string | null
  /**
   * When the target names a variant: the `fetched` stamp (as stored) of the path's cache entry
   * of that variant, or null when it has none.
   */
  entryFetched: string | null
}

/** The remote artifact a claim looks for, so a path saved meanwhile is not fetched again. */
export interface PullTarget {
  remoteName: string
  relativePath: string
  /** Also read when the path's cache entry of this variant was fetched (a metadata copy). */
  variant?: string
}

export interface PullLeaseOptions {
  /** SQLite only: how long a leader that stopped renewing keeps the path (ms). */
  leaseMs?: number
  /** This process, recorded in the rows it leads so others on its host can see it die. */
  process?: { host: string, pid: number }
}

/**
 * Who downloads a remote's path for every instance sharing the database. On PostgreSQL the
 * leader holds an advisory lock (freed by the server the moment its process dies) and the row
 * only reports progress; on SQLite, where processes share a file on one host, the row is also
 * a lease the leader renews and a successor may take once it ran out.
 */
export class PullLeases {
  readonly #knex: Knex
  readonly #leaseMs: number
  readonly #process: { host: string, pid: number } | undefined
  readonly #locks: AdvisoryLocks | undefined
  /** SQLite: the rows (which are the leases) live on a connection of their own. */
  readonly #side: SqliteSideConnection | undefined
  /** Where rows are written: the lock connection, or SQLite's own one. */
  readonly #writer: AdvisoryLocks | SqliteSideConnection
  /** Keys led here: a second local download of one follows the first instead of locking again. */
  readonly #held = new Set<string>()
  readonly #timers = new Set<NodeJS.Timeout>()

  constructor (knex: Knex, dialect: Dialect, options: PullLeaseOptions = {}) {
    this.#knex = knex
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.#process = options.process
    if (dialect === 'postgresql') {
      this.#locks = new AdvisoryLocks(knex)
      this.#writer = this.#locks
    } else {
      this.#side = new SqliteSideConnection(knex)
      this.#writer = this.#side
    }
  }

  /**
   * Leads `key` if no live instance does, naming `file` as the one being written. `deadOwner`:
   * the caller saw that this leader's process is gone, so its SQLite lease is taken without
   * waiting for it to run out (PostgreSQL's lock went with the process already).
   */
  async tryLead (key: string, owner: string, file: string, target: PullTarget, deadOwner?: string): Promise<PullClaim | undefined> {
    if (this.#held.has(key)) return undefined
    this.#held.add(key)
    try {
      const claim = this.#locks === undefined
        ? await this.#leaseRow(key, owner, file, target, deadOwner)
        : await this.#lock(this.#locks, key, owner, file, target)
      if (claim === undefined) this.#held.delete(key)
      return claim
    } catch (err: unknown) {
      this.#held.delete(key)
      throw err
    }
  }

  async read (key: string): Promise<PullProgress | undefined> {
    const query = (knex: Knex): Knex.QueryBuilder => knex(TABLE).where({ lock_key: key })
      .first('owner', 'state', 'file', 'head', 'error', { host: 'leader_host', pid: 'leader_pid' })
    // PostgreSQL: the pool's connections read in parallel; the lock connection is for writes.
    const row = this.#side === undefined
      ? await query(this.#knex) as PullProgress | undefined
      : await this.#side.run<PullProgress | undefined>(query)
    return row === undefined ? undefined : { ...row, pid: row.pid === null ? null : Number(row.pid) }
  }

  /** Stops renewals and pending clean-ups, and frees the locks. Leases still held are lost. */
  async close (): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    await this.#locks?.close()
    await this.#side?.close()
  }

  /** Writes on the leases' own connection: PostgreSQL's lock connection, or SQLite's second one. */
  async #rows<T> (build: (knex: Knex) => Knex.QueryBuilder): Promise<T> {
    return await this.#writer.run<T>(build)
  }

  /**
   * Writes the row naming this leader, and in the same statement reads what the leader before
   * left: its file (kept in `previous_file` by the update) and whether the path is saved now.
   */
  async #claim (key: string, owner: string, file: string, target: PullTarget, onlyIfExpired: boolean, deadOwner?: string): Promise<Omit<PullClaim, 'lease'> | undefined> {
    const fields = {
      owner,
      state: 'starting',
      file,
      head: null,
      error: null,
      leader_host: this.#process?.host ?? null,
      leader_pid: this.#process?.pid ?? null,
      expires: new Date(Date.now() + this.#leaseMs).toISOString(),
      updated: now()
    }
    type Row = { previous_file: string | null, saved_sha256: string | null, entry_fetched?: string | null }
    const rows = await this.#rows<Row[]>((knex) => {
      const q = knex(TABLE).insert({ lock_key: key, ...fields, previous_file: null }).onConflict('lock_key')
        .merge({ ...fields, previous_file: knex.ref(`${TABLE}.file`) })
      // A lease is taken only when free or run out; one statement, so two processes never both win.
      if (onlyIfExpired) {
        q.where((w) => {
          w.where(`${TABLE}.expires`, '<', now())
          if (deadOwner !== undefined) w.orWhere(`${TABLE}.owner`, deadOwner)
        })
      }
      const returning: Array<string | Knex.Raw> = ['previous_file', knex.raw(
        '(select sha256 from pulp_remote_artifacts where remote_name = ? and relative_path = ?) as saved_sha256',
        [target.remoteName, target.relativePath])]
      // Read in the claim itself: a revalidation learns whether another instance renewed the
      // copy meanwhile without a query of its own.
      if (target.variant !== undefined) {
        returning.push(knex.raw('(select fetched from pulp_pull_entries where remote_name = ? and relative_path = ? and variant = ?) as entry_fetched',
          [target.remoteName, target.relativePath, target.variant]))
      }
      return q.returning(returning)
    })
    if (rows.length === 0) return undefined
    return { previousFile: rows[0].previous_file, savedSha256: rows[0].saved_sha256, entryFetched: rows[0].entry_fetched ?? null }
  }

  async #lock (locks: AdvisoryLocks, key: string, owner: string, file: string, target: PullTarget): Promise<PullClaim | undefined> {
    const lock = await locks.tryLock(`pulp:pull:${key}`)
    if (lock === undefined) return undefined
    try {
      // Whatever row is there belongs to a leader that is gone: ours replaces it.
      const claimed = await this.#claim(key, owner, file, target, false) as Omit<PullClaim, 'lease'>
      return { ...claimed, lease: this.#lease(key, owner, lock) }
    } catch (err: unknown) {
      await lock.unlock()
      throw err
    }
  }

  async #leaseRow (
    key: string,
    owner: string,
    file: string,
    target: PullTarget,
    deadOwner: string | undefined
  ): Promise<PullClaim | undefined> {
    const claimed = await this.#claim(key, owner, file, target, true, deadOwner)
    return claimed === undefined ? undefined : { ...claimed, lease: this.#lease(key, owner, undefined) }
  }

  #lease (key: string, owner: string, lock: AdvisoryLock | undefined): PullLease {
    const mine = async <T>(change: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<T> =>
      await this.#rows<T>((knex) => change(knex(TABLE).where({ lock_key: key, owner })))
    let lost = false
    let released = false
    let chain = Promise.resolve()
    const renew = lock === undefined ? setInterval(() => { void renewal() }, this.#leaseMs / 3).unref() : undefined
    if (renew !== undefined) this.#timers.add(renew)
    const stopRenewing = (): void => {
      if (renew === undefined) return
      clearInterval(renew)
      this.#timers.delete(renew)
    }
    const renewal = async (): Promise<void> => {
      try {
        const n = await mine<number>((q) => q.update({ expires: new Date(Date.now() + this.#leaseMs).toISOString() }))
        if (n === 0) {
          lost = true
          stopRenewing()
          debug('the lease on %s was taken over', key)
        }
      } catch (err: unknown) {
        debug('renewing the lease on %s: %s', key, (err as Error).message)
      }
    }
    const update = async (fields: PullUpdate): Promise<void> => {
      const next = chain.then(async () => { await mine((q) => q.update({ ...fields, updated: now() })) })
      chain = next.catch(() => {})
      await next
    }
    const retire = async (trx: Knex): Promise<void> => {
      await trx(TABLE).where({ lock_key: key, owner }).delete()
    }
    const release = async (options?: PullRelease): Promise<void> => {
      if (released) return
      released = true
      stopRenewing()
      const failure = options !== undefined && 'failure' in options ? options : undefined
      try {
        await chain
        // An empty expiry frees a SQLite lease at once; PostgreSQL's goes with the lock.
        if (failure !== undefined) await mine((q) => q.update({ state: 'failed', error: failure.failure, expires: '', updated: now() }))
        else if (options === undefined) await mine((q) => q.delete())
      } finally {
        await lock?.unlock()
        this.#held.delete(key)
      }
      if (failure !== undefined) this.#later(failure.keepMs, async () => { await mine((q) => q.where({ state: 'failed' }).delete()) })
    }
    return {
      owner,
      get held () { return !lost && (lock?.held ?? true) },
      update,
      retire,
      release
    }
  }

  #later (ms: number, job: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      job().catch((err: unknown) => debug('clean-up: %s', (err as Error).message))
    }, ms).unref()
    this.#timers.add(timer)
  }
}
