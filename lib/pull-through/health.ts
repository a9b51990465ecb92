import type { Knex } from 'knex'
import createDebug from 'debug'
import { UpstreamDownError } from '../errors'
import {
  claimRemoteProbe, FIRST_BACKOFF, HEALTHY, readRemoteHealth, recordRemoteFailure, recordRemoteSuccess, type RemoteHealthRow
} from '../storage/remote-health'
import type { StoredRemote } from '../storage/remotes'
import type { UpstreamOutcome } from './upstream'

const debug = createDebug('pulp:pull-through:health')

/** How long a remote's health read from the database is trusted (ms): another instance's verdict reaches us this late. */
const TRUST_MS = 1000

/** Whether a request may go upstream: yes, yes as the one probe after a back-off, or no. */
export type Admission = { kind: 'up' } | { kind: 'probe' } | { kind: 'down', error: UpstreamDownError }

interface Known { row: RemoteHealthRow, readAt: number, reading?: Promise<RemoteHealthRow> }

/**
 * The circuit breaker of every remote, kept in the database so that all instances agree on
 * whether an upstream is down (one instance's failures spare the others the wait) and so that
 * exactly one of them probes it after the back-off. Each instance trusts its copy for a second.
 */
export class UpstreamHealth {
  readonly #knex: Knex
  readonly #known = new Map<string, Known>()
  /** Remotes this instance is probing: the probe's failure doubles the back-off. */
  readonly #probing = new Set<string>()
  readonly #pending = new Set<Promise<void>>()

  constructor (knex: Knex) {
    this.#knex = knex
  }

  /** Before any upstream request of `remote`. */
  async admit (remote: StoredRemote): Promise<Admission> {
    const row = await this.#row(remote.name)
    if (row.retryAt === null) return { kind: 'up' }
    const at = Date.now()
    if (at < row.retryAt) return { kind: 'down', error: this.#downError(remote, row) }
    if (await claimRemoteProbe(this.#knex, remote.name, row.retryAt, row.backoff ?? FIRST_BACKOFF, at)) {
      this.#probing.add(remote.name)
      debug('%s: probing after its back-off', remote.name)
      return { kind: 'probe' }
    }
    // Another instance probes: wait for its verdict like everyone else.
    const now = await this.#row(remote.name, true)
    return now.retryAt === null ? { kind: 'up' } : { kind: 'down', error: this.#downError(remote, now) }
  }

  /** Reads the remote's row now if the copy here is stale, so that `admit` soon after finds it read. */
  prefetch (remote: StoredRemote): void {
    this.#row(remote.name).catch(() => {})
  }

  /** What an upstream request of `remote` told us (called by the upstream client, never awaited). */
  record (remote: StoredRemote, outcome: UpstreamOutcome): void {
    const known = this.#known.get(remote.name)
    const probe = this.#probing.delete(remote.name)
    if (outcome === 'success') {
      // The common case writes nothing: a remote believed healthy stays so.
      if (known !== undefined && known.row.consecutiveFailures === 0 && known.row.downSince === null && !probe) return
      this.#known.set(remote.name, { row: HEALTHY, readAt: performance.now() })
      this.#track(recordRemoteSuccess(this.#knex, remote.name).then(() => {
        if (known?.row.downSince != null || probe) debug('%s: up again', remote.name)
      }))
      return
    }
    this.#track(recordRemoteFailure(this.#knex, remote.name, remote.maxFailures, probe).then((row) => {
      this.#known.set(remote.name, { row, readAt: performance.now() })
      if (row.downSince !== null && (known?.row.downSince == null || probe)) {
        debug('%s: marked down after %d consecutive failures, retried at %s', remote.name, row.consecutiveFailures, new Date(row.retryAt as number).toISOString())
      }
    }))
  }

  /** The remote changed or went: read its health afresh. */
  forget (remoteName: string): void {
    this.#known.delete(remoteName)
  }

  /** Waits for the writes under way. */
  async close (): Promise<void> {
    await Promise.all([...this.#pending])
  }

  #track (work: Promise<void>): void {
    const p = work.catch((err: unknown) => debug('recording health: %s', (err as Error).message))
    this.#pending.add(p)
    void p.finally(() => this.#pending.delete(p))
  }

  #downError (remote: StoredRemote, row: RemoteHealthRow): UpstreamDownError {
    return new UpstreamDownError(`remote "${remote.name}" is down after ${row.consecutiveFailures} consecutive failures; it is tried again at ${new Date(row.retryAt as number).toISOString()}`)
  }

  async #row (remoteName: string, fresh = false): Promise<RemoteHealthRow> {
    const known = this.#known.get(remoteName)
    if (known !== undefined && !fresh && performance.now() - known.readAt < TRUST_MS) return known.row
    if (known?.reading !== undefined) return await known.reading
    const reading = readRemoteHealth(this.#knex, remoteName)
    const entry: Known = { row: known?.row ?? HEALTHY, readAt: known?.readAt ?? Number.NEGATIVE_INFINITY, reading }
    this.#known.set(remoteName, entry)
    try {
      const row = await reading
      if (this.#known.get(remoteName) === entry) this.#known.set(remoteName, { row, readAt: performance.now() })
      return row
    } finally {
      entry.reading = undefined
    }
  }
}
