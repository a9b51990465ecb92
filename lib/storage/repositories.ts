import type { Knex } from 'knex'
import { fromJson, now, toJson, toNumber, type Page, type PageOf } from './rows'

export interface Repository {
  id: string
  displayName: string | null
  description: string | null
  notes: Record<string, unknown>
  contentUnitCounts: Record<string, number>
  totalRepositoryUnits: number
  lastUnitAdded: string | null
  lastUnitRemoved: string | null
  contentVersion: number
  created: string
  updated: string
}

export interface RepositoryFields {
  displayName?: string | null
  description?: string | null
  notes?: Record<string, unknown>
}

const TABLE = 'pulp_repositories'

interface RepositoryRow {
  id: string
  display_name: string | null
  description: string | null
  notes: string
  content_version: number | string
  last_unit_added: string | null
  last_unit_removed: string | null
  created: string
  updated: string
}

async function countsFor (knex: Knex, ids: string[]): Promise<Map<string, Record<string, number>>> {
  const counts = new Map<string, Record<string, number>>()
  if (ids.length === 0) return counts
  const rows = await knex('pulp_repository_units as ru')
    .join('pulp_units as u', 'u.id', 'ru.unit_id')
    .whereIn('ru.repository_id', ids)
    .groupBy('ru.repository_id', 'u.type_id')
    .select('ru.repository_id', 'u.type_id')
    .count({ n: '*' }) as Array<{ repository_id: string, type_id: string, n: number | string }>
  for (const row of rows) {
    const byType = counts.get(row.repository_id) ?? {}
    byType[row.type_id] = toNumber(row.n)
    counts.set(row.repository_id, byType)
  }
  return counts
}

function toRepository (row: RepositoryRow, counts: Record<string, number> = {}): Repository {
  return {
    id: row.id,
    displayName: row.display_name,
    description: row.description,
    notes: fromJson(row.notes, {}),
    contentUnitCounts: counts,
    totalRepositoryUnits: Object.values(counts).reduce((a, b) => a + b, 0),
    lastUnitAdded: row.last_unit_added,
    lastUnitRemoved: row.last_unit_removed,
    contentVersion: toNumber(row.content_version),
    created: row.created,
    updated: row.updated
  }
}

export async function insertRepository (knex: Knex, id: string, fields: RepositoryFields): Promise<void> {
  const at = now()
  await knex(TABLE).insert({
    id,
    display_name: fields.displayName ?? null,
    description: fields.description ?? null,
    notes: toJson(fields.notes ?? {}),
    content_version: 0,
    created: at,
    updated: at
  })
}

export async function findRepository (knex: Knex, id: string): Promise<Repository | undefined> {
  const row = await knex(TABLE).where({ id }).first() as RepositoryRow | undefined
  if (row === undefined) return undefined
  return toRepository(row, (await countsFor(knex, [id])).get(id))
}

export async function listRepositories (knex: Knex, page: Page): Promise<PageOf<Repository>> {
  const [{ n }] = await knex(TABLE).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex(TABLE).orderBy('id').limit(page.limit).offset(page.offset) as RepositoryRow[]
  const counts = await countsFor(knex, rows.map((r) => r.id))
  return { count: toNumber(n), results: rows.map((r) => toRepository(r, counts.get(r.id))) }
}

/** Returns false when there is no such repository. */
export async function updateRepository (knex: Knex, id: string, fields: RepositoryFields): Promise<boolean> {
  const patch: Record<string, unknown> = { updated: now() }
  if (fields.displayName !== undefined) patch.display_name = fields.displayName
  if (fields.description !== undefined) patch.description = fields.description
  if (fields.notes !== undefined) patch.notes = toJson(fields.notes)
  return await knex(TABLE).where({ id }).update(patch) > 0
}

export async function deleteRepository (knex: Knex, id: string): Promise<boolean> {
  return await knex.transaction(async (trx) => {
    await trx('pulp_repository_units').where({ repository_id: id }).delete()
    await trx('pulp_repo_distributors').where({ repository_id: id }).delete()
    await trx('pulp_bindings').where({ repository_id: id }).delete()
    await trx('pulp_distributions').where({ repository_id: id }).update({ repository_id: null })
    return await trx(TABLE).where({ id }).delete() > 0
  })
}

/** Records a content change: bumps the version the publish runner compares, and the timestamps. */
export async function touchContent (trx: Knex, id: string, what: 'added' | 'removed'): Promise<void> {
  const at = now()
  await trx(TABLE).where({ id }).increment('content_version', 1).update({
    [what === 'added' ? 'last_unit_added' : 'last_unit_removed']: at,
    updated: at
  })
}

export async function getRepoScratchpad (knex: Knex, id: string): Promise<unknown> {
  const row = await knex(TABLE).where({ id }).first('scratchpad') as { scratchpad: string | null } | undefined
  return fromJson(row?.scratchpad, null)
}

export async function setRepoScratchpad (knex: Knex, id: string, value: unknown): Promise<void> {
  await knex(TABLE).where({ id }).update({ scratchpad: toJson(value) })
}
