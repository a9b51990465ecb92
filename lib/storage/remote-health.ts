import type { Knex } from 'knex'
import type { RemoteHealth } from '../schemas/remotes'
import { now, toNumber } from './rows'

const TABLE = 'pulp_remote_health'

/** The first back-off once a remote is down, and the most it grows to by doubling (seconds). */
export const FIRST_BACKOFF = 30
export const MAX_BACKOFF = 600

/** What every instance knows of an upstream: times in ms since the epoch. */
export interface RemoteHealthRow {
  consecutiveFailures: number
  downSince: number | null
  retryAt: number | null
  backoff: number | null
}

export const HEALTHY: RemoteHealthRow = Object.freeze({ consecutiveFailures: 0, downSince: null, retryAt: null, backoff: null })

/** What `GET /remotes/:name` shows (its schema: schemas/remotes.ts). */
export type { RemoteHealth } from '../schemas/remotes'

export function healthOf (row: RemoteHealthRow): RemoteHealth {
  return {
    state: row.downSince === null ? 'up' : 'down',
    consecutiveFailures: row.consecutiveFailures,
    downSince: row.downSince === null ? null : new Date(row.downSince).toISOString(),
    retryAt: row.retryAt === null ? null : new Date(row.retryAt).toISOString()
  }
}

interface Row {
  consecutive_failures: number | string
  down_since: string | null
  retry_at: string | null
  backoff: number | string | null
}

const iso = (ms: number): string => new Date(ms).toISOString()
const ms = (text: string | null): number | null => text === null ? null : Date.parse(text)

function fromRow (row: Row | undefined): RemoteHealthRow {
  if (row === undefined) return HEALTHY
  return {
    consecutiveFailures: toNumber(row.consecutive_failures),
    downSince: ms(row.down_since),
    retryAt: ms(row.retry_at),
    backoff: row.backoff === null ? null : toNumber(row.backoff)
  }
}

export async function readRemoteHealth (knex: Knex, remoteName: string): Promise<RemoteHealthRow> {
  return fromRow(await knex(TABLE).where({ remote_name: remoteName }).first() as Row | undefined)
}

/**
 * One more consecutive failure. At `maxFailures` the remote goes down for FIRST_BACKOFF; a probe
 * that fails doubles the back-off (up to MAX_BACKOFF). A failure of a request that left before
 * the remote went down does not extend the back-off.
 */
export async function recordRemoteFailure (
  knex: Knex,
  remoteName: string,
  maxFailures: number,
  probe: boolean,
  at = Date.now()
): Promise<RemoteHealthRow> {
  return await knex.transaction(async (trx) => {
    // The row first, so that FOR UPDATE has something to lock: two first failures at once
    // would otherwise both read none and both write one, and the remote never went down.
    await trx(TABLE).insert({ remote_name: remoteName, consecutive_failures: 0, updated: now() }).onConflict('remote_name').ignore()
    const query = trx(TABLE).where({ remote_name: remoteName })
    // SQLite's write transaction already excludes every other writer.
    if ((trx.client as { dialect?: string }).dialect === 'postgresql') query.forUpdate()
    const current = fromRow(await query.first() as Row | undefined)
    const failures = current.consecutiveFailures + 1
    let { downSince, retryAt, backoff } = current
    if (failures >= maxFailures && (downSince === null || probe)) {
      backoff = downSince === null || backoff === null ? FIRST_BACKOFF : Math.min(backoff * 2, MAX_BACKOFF)
      downSince ??= at
      retryAt = at + backoff * 1000
    }
    const row = {
      consecutive_failures: failures,
      down_since: downSince === null ? null : iso(downSince),
      retry_at: retryAt === null ? null : iso(retryAt),
      backoff,
      updated: now()
    }
    await trx(TABLE).insert({ remote_name: remoteName, ...row }).onConflict('remote_name').merge(row)
    return { consecutiveFailures: failures, downSince, retryAt, backoff }
  })
}

/** The upstream answered: it is up, whatever it was. */
export async function recordRemoteSuccess (knex: Knex, remoteName: string): Promise<void> {
  await knex(TABLE).where({ remote_name: remoteName }).update({
    consecutive_failures: 0, down_since: null, retry_at: null, backoff: null, updated: now()
  })
}

/**
 * Takes the one probe of a remote whose back-off ran out: the retry time moves on by the
 * back-off in the same statement, so of all instances exactly one sends it.
 */
export async function claimRemoteProbe (
  knex: Knex,
  remoteName: string,
  retryAt: number,
  backoff: number,
  at = Date.now()
): Promise<boolean> {
  const n = await knex(TABLE).where({ remote_name: remoteName, retry_at: iso(retryAt) })
    .update({ retry_at: iso(at + backoff * 1000), updated: now() })
  return n > 0
}

/** The health of every remote, by name (a remote never asked yet is up). */
export async function allRemoteHealth (knex: Knex): Promise<Record<string, RemoteHealth>> {
  const rows = await knex('pulp_remotes as r').leftJoin(`${TABLE} as h`, 'h.remote_name', 'r.name').orderBy('r.name')
    .select('r.name', 'h.consecutive_failures', 'h.down_since', 'h.retry_at', 'h.backoff') as Array<Row & { name: string }>
  return Object.fromEntries(rows.map((row) => [row.name, healthOf(row.consecutive_failures === null ? HEALTHY : fromRow(row))]))
}
