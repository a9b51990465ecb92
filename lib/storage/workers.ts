import os from 'node:os'
import { readFileSync, readlinkSync } from 'node:fs'
import type { Knex } from 'knex'
import type { Dialect } from './connection'
import { now } from './rows'

/** A runner's heartbeat row: how other runners tell a live instance from a dead one. */
export interface Worker {
  id: string
  /** Where the process runs (see `localHost`): its pid means something only there. */
  hostname: string
  pid: number
  started: string
  /** The database server's clock at the last beat, so instances need not agree on the time. */
  heartbeat: string
}

const TABLE = 'pulp_workers'

/** The database server's time as an ISO 8601 string in UTC (the format of every timestamp column). */
function clockSql (dialect: Dialect): string {
  return dialect === 'postgresql'
    ? `to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`
}

/** The database server's current time in milliseconds since the epoch. */
export async function databaseNow (knex: Knex, dialect: Dialect): Promise<number> {
  const [row] = await knex.select(knex.raw(`${clockSql(dialect)} as now`)) as Array<{ now: string }>
  return Date.parse(row.now)
}

/**
 * Records a beat of this worker, creating its row if it is missing: another instance removes
 * the row of a worker it took for dead, and a worker that was only frozen must come back.
 */
export async function beat (knex: Knex, dialect: Dialect, w: { id: string, hostname: string, pid: number }): Promise<void> {
  const at = knex.raw(clockSql(dialect))
  await knex(TABLE).insert({ ...w, started: now(), heartbeat: at }).onConflict('id').merge({ heartbeat: at })
}

export async function findWorkers (knex: Knex, ids: readonly string[]): Promise<Map<string, Worker>> {
  if (ids.length === 0) return new Map()
  const rows = await knex(TABLE).whereIn('id', [...ids]) as Worker[]
  return new Map(rows.map((r) => [r.id, { ...r, pid: Number(r.pid) }]))
}

/**
 * Removes a worker's row; with `seenHeartbeat`, only if it has not beaten since (a worker that
 * was only slow keeps its row, so its next tasks do not look orphaned).
 */
export async function removeWorker (knex: Knex, id: string, seenHeartbeat?: string): Promise<void> {
  const q = knex(TABLE).where({ id })
  if (seenHeartbeat !== undefined) q.where('heartbeat', seenHeartbeat)
  await q.delete()
}

/**
 * Whether process `pid` of this host runs. A zombie (killed, not yet reaped by its parent) is
 * dead: it holds nothing and will never write again.
 */
export function processRuns (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err: unknown) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    // No /proc (not Linux), or it ended meanwhile: what kill said stands.
    return true
  }
}

/** Removes the rows of workers that have not beaten since `before` (an ISO time by the database clock). */
export async function pruneWorkers (knex: Knex, before: string): Promise<number> {
  // Every heartbeat has the same fixed-width UTC format, so text order is time order.
  return await knex(TABLE).where('heartbeat', '<', before).delete()
}

/**
 * Names where this process runs, precisely enough that a pid found in a worker row with the
 * same name is a pid this process can check: the hostname, and on Linux the boot id and pid
 * namespace too, since containers (and cloned VMs) often share a hostname but not their pids.
 */
export function localHost (): string {
  const parts = [os.hostname()]
  try {
    parts.push(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), readlinkSync('/proc/self/ns/pid'))
  } catch {
    // Not Linux: processes with one hostname share one pid space there.
  }
  return parts.join(' ')
}

/** Who judges liveness: this process, where it runs, and the database clock's time. */
export interface Observer {
  host: string
  pid: number
  /** Milliseconds since the epoch, by the database server's clock (the one heartbeats use). */
  now: number
}

/**
 * Whether a worker still runs: its heartbeat is recent and, on this host, its process exists.
 * The process check catches a killed process at once; the heartbeat catches the rest (other
 * hosts, a frozen process, a reused pid) after `heartbeatTimeout`.
 */
export function isAlive (worker: Worker | undefined, heartbeatTimeoutSeconds: number, observer: Observer): boolean {
  if (worker === undefined) return false
  if (observer.now - Date.parse(worker.heartbeat) > heartbeatTimeoutSeconds * 1000) return false
  // The same pid is this process: another instance in it is alive while it beats.
  if (worker.hostname !== observer.host || worker.pid === observer.pid) return true
  return processRuns(worker.pid)
}
