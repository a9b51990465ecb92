import type { Knex } from 'knex'
import { now } from './rows'

/** A runner's heartbeat row: how other runners tell a live instance from a dead one. */
export interface Worker {
  id: string
  hostname: string
  pid: number
  started: string
  heartbeat: string
}

const TABLE = 'pulp_workers'

export async function registerWorker (knex: Knex, w: { id: string, hostname: string, pid: number }): Promise<void> {
  const at = now()
  await knex(TABLE).insert({ ...w, started: at, heartbeat: at }).onConflict('id').merge({ heartbeat: at })
}

export async function beat (knex: Knex, id: string): Promise<void> {
  await knex(TABLE).where({ id }).update({ heartbeat: now() })
}

export async function findWorkers (knex: Knex, ids: readonly string[]): Promise<Map<string, Worker>> {
  if (ids.length === 0) return new Map()
  const rows = await knex(TABLE).whereIn('id', [...ids]) as Worker[]
  return new Map(rows.map((r) => [r.id, { ...r, pid: Number(r.pid) }]))
}

export async function removeWorker (knex: Knex, id: string): Promise<void> {
  await knex(TABLE).where({ id }).delete()
}
