import type { Knex } from 'knex'
import { fromJson, now, toBool, toJson, toNumber, type Page, type PageOf } from './rows'

/** A distributor attached to a repository: its type, stored config and publish settings. */
export interface RepoDistributor {
  id: string
  repoId: string
  distributorTypeId: string
  /** The stored layer of the config (registration defaults and overrides are not in it). */
  config: Record<string, unknown>
  autoPublish: boolean
  /** When the last successful publish finished, or null. */
  lastPublish: string | null
  created: string
  updated: string
}

const TABLE = 'pulp_repo_distributors'

interface DistributorRow {
  repository_id: string
  distributor_id: string
  distributor_type_id: string
  config: string
  auto_publish: boolean | number
  last_publish: string | null
  created: string
  updated: string
}

const COLUMNS = ['repository_id', 'distributor_id', 'distributor_type_id', 'config', 'auto_publish', 'last_publish', 'created', 'updated']

function toDistributor (row: DistributorRow): RepoDistributor {
  return {
    id: row.distributor_id,
    repoId: row.repository_id,
    distributorTypeId: row.distributor_type_id,
    config: fromJson(row.config, {}),
    autoPublish: toBool(row.auto_publish),
    lastPublish: row.last_publish,
    created: row.created,
    updated: row.updated
  }
}

export async function insertDistributor (knex: Knex, d: { repoId: string, id: string, typeId: string,
  config: Record<string, unknown>, autoPublish: boolean }): Promise<void> {
  const at = now()
  await knex(TABLE).insert({
    repository_id: d.repoId,
    distributor_id: d.id,
    distributor_type_id: d.typeId,
    config: toJson(d.config),
    auto_publish: d.autoPublish,
    created: at,
    updated: at
  })
}

export async function findDistributor (knex: Knex, repoId: string, id: string): Promise<RepoDistributor | undefined> {
  const row = await knex(TABLE).where({ repository_id: repoId, distributor_id: id }).first(COLUMNS) as DistributorRow | undefined
  return row === undefined ? undefined : toDistributor(row)
}

export async function listDistributors (knex: Knex, repoId: string, page: Page): Promise<PageOf<RepoDistributor>> {
  const [{ n }] = await knex(TABLE).where({ repository_id: repoId }).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex(TABLE).where({ repository_id: repoId }).orderBy('distributor_id')
    .limit(page.limit).offset(page.offset).select(COLUMNS) as DistributorRow[]
  return { count: toNumber(n), results: rows.map(toDistributor) }
}

/** Every distributor of a repository (they are few), for hooks and auto-publish. */
export async function allDistributorsOf (knex: Knex, repoId: string): Promise<RepoDistributor[]> {
  const rows = await knex(TABLE).where({ repository_id: repoId }).orderBy('distributor_id').select(COLUMNS) as DistributorRow[]
  return rows.map(toDistributor)
}

/** Every distributor of every repository, in batches, for relative URL conflict checks. */
export async function * iterateAllDistributors (knex: Knex, batchSize = 500): AsyncGenerator<RepoDistributor> {
  for (let offset = 0; ; offset += batchSize) {
    const rows = await knex(TABLE).orderBy(['repository_id', 'distributor_id']).limit(batchSize).offset(offset).select(COLUMNS) as DistributorRow[]
    for (const row of rows) yield toDistributor(row)
    if (rows.length < batchSize) return
  }
}

export async function updateDistributor (knex: Knex, repoId: string, id: string,
  patch: { config?: Record<string, unknown>, autoPublish?: boolean }): Promise<boolean> {
  const row: Record<string, unknown> = { updated: now() }
  if (patch.config !== undefined) row.config = toJson(patch.config)
  if (patch.autoPublish !== undefined) row.auto_publish = patch.autoPublish
  return await knex(TABLE).where({ repository_id: repoId, distributor_id: id }).update(row) > 0
}

/** Removes the distributor with its bindings and publish history. */
export async function deleteDistributor (knex: Knex, repoId: string, id: string): Promise<boolean> {
  return await knex.transaction(async (trx) => {
    await trx('pulp_bindings').where({ repository_id: repoId, distributor_id: id }).delete()
    await trx('pulp_publish_history').where({ repository_id: repoId, distributor_id: id }).delete()
    return await trx(TABLE).where({ repository_id: repoId, distributor_id: id }).delete() > 0
  })
}

export async function setLastPublish (knex: Knex, repoId: string, id: string, at: string): Promise<void> {
  await knex(TABLE).where({ repository_id: repoId, distributor_id: id }).update({ last_publish: at })
}

export async function getScratchpad (knex: Knex, repoId: string, id: string): Promise<unknown> {
  const row = await knex(TABLE).where({ repository_id: repoId, distributor_id: id }).first('scratchpad') as { scratchpad: string | null } | undefined
  return fromJson(row?.scratchpad, null)
}

export async function setScratchpad (knex: Knex, repoId: string, id: string, value: unknown): Promise<void> {
  await knex(TABLE).where({ repository_id: repoId, distributor_id: id }).update({ scratchpad: toJson(value) })
}
