import type { Knex } from 'knex'
import { now, toNumber, type Page, type PageOf } from './rows'

const TABLE = 'pulp_distributions'

export interface Distribution {
  name: string
  /** Where it is served under `contentPath`: a relative path without leading or trailing slash. */
  basePath: string
  /** The repository pulled content is added to, if any. */
  repository: string | null
  /** The remote that fills misses, if any. */
  remote: string | null
  /** The most bytes of immutable pulled files kept for it; null for no limit. */
  cacheMaxBytes: number | null
  created: string
  updated: string
}

export interface DistributionColumns {
  basePath: string
  repository: string | null
  remote: string | null
  cacheMaxBytes: number | null
}

interface DistributionRow {
  name: string
  base_path: string
  repository_id: string | null
  remote_name: string | null
  cache_max_bytes: number | string | null
  created: string
  updated: string
}

function toDistribution (row: DistributionRow): Distribution {
  return {
    name: row.name,
    basePath: row.base_path,
    repository: row.repository_id,
    remote: row.remote_name,
    cacheMaxBytes: row.cache_max_bytes === null ? null : toNumber(row.cache_max_bytes),
    created: row.created,
    updated: row.updated
  }
}

function toRow (fields: Partial<DistributionColumns>): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  if (fields.basePath !== undefined) row.base_path = fields.basePath
  if (fields.repository !== undefined) row.repository_id = fields.repository
  if (fields.remote !== undefined) row.remote_name = fields.remote
  if (fields.cacheMaxBytes !== undefined) row.cache_max_bytes = fields.cacheMaxBytes
  return row
}

/** Base paths are at most this long (they are validated like relative paths). */
export const MAX_BASE_PATH = 1024

/** The base paths a path of these segments could be served under: each whole-segment prefix. */
export function basePathCandidates (segments: readonly string[]): string[] {
  const out: string[] = []
  let prefix = ''
  for (const segment of segments) {
    prefix = prefix === '' ? segment : `${prefix}/${segment}`
    if (prefix.length > MAX_BASE_PATH) break
    out.push(prefix)
  }
  return out
}

/** An arbitrary constant naming the advisory lock of distribution and remote wiring. */
const WIRING_LOCK = 0x70756c70

/**
 * Serialises changes to which base paths and remotes distributions use, so two overlapping
 * creates (or a create and the delete of its remote) cannot both pass their checks.
 * SQLite serialises write transactions already; PostgreSQL gets an advisory lock.
 */
export async function lockWiring (trx: Knex.Transaction): Promise<void> {
  if (trx.client.dialect === 'postgresql') await trx.raw('select pg_advisory_xact_lock(?)', [WIRING_LOCK])
}

export async function insertDistribution (knex: Knex, name: string, fields: DistributionColumns): Promise<void> {
  const at = now()
  await knex(TABLE).insert({ name, ...toRow(fields), created: at, updated: at })
}

export async function findDistribution (knex: Knex, name: string): Promise<Distribution | undefined> {
  const row = await knex(TABLE).where({ name }).first() as DistributionRow | undefined
  return row === undefined ? undefined : toDistribution(row)
}

export async function listDistributions (knex: Knex, page: Page): Promise<PageOf<Distribution>> {
  const [{ n }] = await knex(TABLE).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex(TABLE).orderBy('name').limit(page.limit).offset(page.offset) as DistributionRow[]
  return { count: toNumber(n), results: rows.map(toDistribution) }
}

/** Returns false when there is no such distribution. */
export async function updateDistribution (knex: Knex, name: string, fields: Partial<DistributionColumns>): Promise<boolean> {
  return await knex(TABLE).where({ name }).update({ ...toRow(fields), updated: now() }) > 0
}

export async function deleteDistribution (knex: Knex, name: string): Promise<boolean> {
  return await knex(TABLE).where({ name }).delete() > 0
}

/**
 * Another distribution whose base path equals `basePath`, contains it, or lies inside it, by
 * whole segments (`a/b` overlaps `a` and `a/b/c`, not `a/bc`).
 */
export async function findOverlapping (knex: Knex, basePath: string, exceptName?: string): Promise<Distribution | undefined> {
  const inside = `${basePath}/`
  const q = knex(TABLE)
    .where((w) => {
      w.whereIn('base_path', basePathCandidates(basePath.split('/')))
        // Both dialects count characters (code points), not UTF-16 units.
        .orWhereRaw('substr(base_path, 1, ?) = ?', [[...inside].length, inside])
    })
  if (exceptName !== undefined) q.whereNot({ name: exceptName })
  const row = await q.orderBy('name').first() as DistributionRow | undefined
  return row === undefined ? undefined : toDistribution(row)
}

/** Every distribution with a remote: what the content path's pull-through index holds. */
export async function distributionsWithRemotes (knex: Knex): Promise<Distribution[]> {
  return (await knex(TABLE).whereNotNull('remote_name') as DistributionRow[]).map(toDistribution)
}

/** Every distribution with a remote and a cache limit: what the pull-through quota watches. */
export async function distributionsWithQuotas (knex: Knex): Promise<Distribution[]> {
  return (await knex(TABLE).whereNotNull('remote_name').whereNotNull('cache_max_bytes') as DistributionRow[]).map(toDistribution)
}
