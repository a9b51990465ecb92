import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import { now, toNumber, type Page, type PageOf } from './rows'
import { touchContent } from './repositories'

export interface Unit {
  id: string
  typeId: string
  relativePath: string
  sha256: string
  size: number
  created: string
}

export interface RepositoryUnit extends Unit {
  /** When the unit joined this repository. */
  added: string
}

export interface NewUnit {
  typeId: string
  relativePath: string
  sha256: string
  size: number
}

interface UnitRow {
  id: string
  type_id: string
  relative_path: string
  sha256: string
  size: number | string
  created: string
  added?: string
}

function toUnit (row: UnitRow): RepositoryUnit {
  return {
    id: row.id,
    typeId: row.type_id,
    relativePath: row.relative_path,
    sha256: row.sha256,
    size: toNumber(row.size),
    created: row.created,
    added: row.added ?? row.created
  }
}

/**
 * Records an artifact row; the same bytes twice stay one row. An existing row is updated, not
 * skipped: that locks it until the caller's transaction ends, so an orphan cleanup cannot
 * delete it between here and the rows that will reference it (see orphans/cleanup.ts).
 */
export async function recordArtifact (knex: Knex, sha256: string, size: number): Promise<void> {
  // `evicted` cleared: whoever records the bytes has just stored them (see the pull-through quota).
  await knex('pulp_artifacts').insert({ sha256, size, created: now() }).onConflict('sha256').merge({ size, evicted: null })
}

/** Finds or creates the unit with this identity (type, path, bytes), in one transaction. */
export async function ensureUnit (db: Knex, unit: NewUnit): Promise<Unit> {
  if (!db.isTransaction) return await db.transaction(async (trx) => await ensureUnit(trx, unit))
  const knex = db
  await recordArtifact(knex, unit.sha256, unit.size)
  const identity = { type_id: unit.typeId, relative_path: unit.relativePath, sha256: unit.sha256 }
  // Updated rather than skipped for the same reason as the artifact row: it stays locked.
  await knex('pulp_units')
    .insert({ id: randomUUID(), ...identity, size: unit.size, created: now() })
    .onConflict(['type_id', 'relative_path', 'sha256']).merge(['size'])
  const row = await knex('pulp_units').where(identity).first() as UnitRow
  return toUnit(row)
}

/**
 * Puts a unit into a repository. A unit already there under the same relative path is
 * replaced; returns whether anything changed. Safe when several instances add the same unit
 * at once: the database keeps one row, and only the one that inserted it reports a change.
 */
export async function associateUnit (knex: Knex, repositoryId: string, unit: Unit): Promise<boolean> {
  return await associateUnits(knex, repositoryId, [unit])
}

/**
 * Rows per statement when many go at once: a push's request of 256 files in one statement each
 * (bench/push.ts: 100 a statement made its 40 requests 1,000 statements, a tenth of the
 * server's time). Up to 3,000 bound values (6 a row): within the 32,766 of the SQLite that
 * sqlite3 bundles (3.32 and later; the 999 of older ones no longer applies) and PostgreSQL's 65,535.
 */
const CHUNK = 500

function* chunks<T> (items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK)
}

const identityKey = (typeId: string, relativePath: string, sha256: string): string => `${typeId}\0${relativePath}\0${sha256}`

/**
 * `ensureUnit` for many units: three statements per hundred units instead of three per unit,
 * which was most of the database time of a push of many small files (bench/push.ts).
 */
export async function ensureUnits (knex: Knex, units: readonly NewUnit[]): Promise<Unit[]> {
  const found = new Map<string, Unit>()
  for (const chunk of chunks(units)) {
    const created = now()
    const artifacts = new Map(chunk.map((u) => [u.sha256, { sha256: u.sha256, size: u.size, created }]))
    await knex('pulp_artifacts').insert([...artifacts.values()]).onConflict('sha256').ignore()
    // Bytes evicted by a pull-through quota are back: the caller has just stored them.
    await knex('pulp_artifacts').whereIn('sha256', [...artifacts.keys()]).whereNotNull('evicted').update({ evicted: null })
    await knex('pulp_units')
      .insert(chunk.map((u) => ({
        id: randomUUID(), type_id: u.typeId, relative_path: u.relativePath, sha256: u.sha256, size: u.size, created
      })))
      .onConflict(['type_id', 'relative_path', 'sha256']).ignore()
    const rows = await knex('pulp_units')
      .whereIn(['type_id', 'relative_path', 'sha256'], chunk.map((u) => [u.typeId, u.relativePath, u.sha256])) as UnitRow[]
    for (const row of rows) found.set(identityKey(row.type_id, row.relative_path, row.sha256), toUnit(row))
  }
  return units.map((u) => {
    const unit = found.get(identityKey(u.typeId, u.relativePath, u.sha256))
    if (unit === undefined) throw new Error(`unit ${u.relativePath} (${u.sha256}) was not recorded`)
    return unit
  })
}

/** `associateUnit` for several units in one transaction: all of them land, or none. */
export async function associateUnits (knex: Knex, repositoryId: string, units: readonly Unit[]): Promise<boolean> {
  return await knex.transaction(async (trx) => {
    let changed = false
    for (const chunk of chunks(units)) {
      // A row at one of these paths under another unit is the older version: replaced.
      await trx('pulp_repository_units').where({ repository_id: repositoryId })
        .whereIn('relative_path', chunk.map((u) => u.relativePath)).whereNotIn('unit_id', chunk.map((u) => u.id)).delete()
      // A concurrent insert of the same row waits for ours and then does nothing.
      const added = now()
      const inserted = await trx('pulp_repository_units')
        .insert(chunk.map((u) => ({ repository_id: repositoryId, unit_id: u.id, relative_path: u.relativePath, added })))
        .onConflict().ignore().returning('unit_id') as unknown[]
      if (inserted.length > 0) changed = true
    }
    if (changed) await touchContent(trx, repositoryId, 'added')
    return changed
  })
}

/** Removes the unit with this id, or (`{ relativePath }`) the one at this path. */
export async function removeUnit (knex: Knex, repositoryId: string, unit: string | { relativePath: string }): Promise<boolean> {
  const which = typeof unit === 'string' ? { unit_id: unit } : { relative_path: unit.relativePath }
  return await knex.transaction(async (trx) => {
    const removed = await trx('pulp_repository_units').where({ repository_id: repositoryId, ...which }).delete()
    if (removed > 0) await touchContent(trx, repositoryId, 'removed')
    return removed > 0
  })
}

function repositoryUnitsQuery (knex: Knex, repositoryId: string, typeIds?: readonly string[]): Knex.QueryBuilder {
  const q = knex('pulp_repository_units as ru')
    .join('pulp_units as u', 'u.id', 'ru.unit_id')
    .where('ru.repository_id', repositoryId)
  if (typeIds !== undefined) q.whereIn('u.type_id', [...typeIds])
  return q
}

const UNIT_COLUMNS = ['u.id', 'u.type_id', 'u.relative_path', 'u.sha256', 'u.size', 'u.created', 'ru.added']

/** A page of a repository's units in path order; `relativePath` narrows it to that one path. */
export async function listRepositoryUnits (
  knex: Knex,
  repositoryId: string,
  page: Page,
  relativePath?: string
): Promise<PageOf<RepositoryUnit>> {
  const query = (): Knex.QueryBuilder => {
    const q = repositoryUnitsQuery(knex, repositoryId)
    return relativePath === undefined ? q : q.where('ru.relative_path', relativePath)
  }
  const [{ n }] = await query().count({ n: '*' }) as Array<{ n: number | string }>
  // Ordered by the join row's copy of the path (the same value): its (repository, path) index
  // yields the page in order, where `u.relative_path` sorted every unit of the repository for
  // each page (a listing of 10,000 units: bench/push.ts, the second push).
  const rows = await query()
    .select(UNIT_COLUMNS).orderBy('ru.relative_path').limit(page.limit).offset(page.offset) as UnitRow[]
  return { count: toNumber(n), results: rows.map(toUnit) }
}

/**
 * Every unit of a repository in path order, fetched in keyset-paged batches so a repository of
 * any size streams with bounded memory.
 */
export async function * iterateRepositoryUnits (knex: Knex, repositoryId: string,
  options: { typeIds?: readonly string[], batchSize?: number } = {}): AsyncGenerator<RepositoryUnit> {
  const batchSize = options.batchSize ?? 1000
  let after: string | undefined
  for (;;) {
    const q = repositoryUnitsQuery(knex, repositoryId, options.typeIds).select(UNIT_COLUMNS)
    if (after !== undefined) q.where('ru.relative_path', '>', after)
    const rows = await q.orderBy('ru.relative_path').limit(batchSize) as UnitRow[]
    for (const row of rows) yield toUnit(row)
    if (rows.length < batchSize) return
    after = rows[rows.length - 1].relative_path
  }
}

/** The repository's units among these ids (in no particular order). */
export async function findRepositoryUnits (knex: Knex, repositoryId: string, unitIds: readonly string[]): Promise<RepositoryUnit[]> {
  const rows: UnitRow[] = []
  // Stay under SQLite's bound-parameter limit however many parts one upload had.
  for (let i = 0; i < unitIds.length; i += 500) {
    rows.push(...await repositoryUnitsQuery(knex, repositoryId).whereIn('u.id', unitIds.slice(i, i + 500)).select(UNIT_COLUMNS) as UnitRow[])
  }
  return rows.map(toUnit)
}
