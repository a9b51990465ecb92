import type { Knex } from 'knex'
import { now, toNumber } from './rows'

/** What one eviction run of a distribution's quota did. */
export interface EvictionResult {
  /** Artifact files whose bytes went, and how many bytes. */
  files: number
  bytes: number
  /** Bytes the distribution's cache holds afterwards. */
  cached: number
  /** Another instance was evicting for the same remote (PostgreSQL): this one left it to it. */
  busy: boolean
}

/** Rows per statement: under SQLite's 999 bound parameters. */
const CHUNK = 200

/** What a distribution's quota applies to: the paths of its remote, the repository they join. */
export interface QuotaScope {
  remoteName: string
  /** The distribution's repository: its pulled units may be there without keeping their bytes. */
  repository: string | null
}

/** An artifact whose bytes may go, and when a path of the remote last served it. */
export interface EvictionCandidate {
  sha256: string
  size: number
}

/**
 * Records when paths were last served: one UPDATE per path in one transaction, never moving a
 * time back (another instance may have served the path later).
 */
export async function recordServed (knex: Knex, remoteName: string, served: ReadonlyMap<string, number>): Promise<void> {
  if (served.size === 0) return
  await knex.transaction(async (trx) => {
    for (const [relativePath, at] of served) {
      const when = new Date(at).toISOString()
      await trx('pulp_remote_artifacts').where({ remote_name: remoteName, relative_path: relativePath })
        .where((w) => { w.whereNull('last_served').orWhere('last_served', '<', when) })
        .update({ last_served: when })
    }
  })
}

/** Bytes a remote's cached paths hold in the store: each artifact once, evicted ones not at all. */
export async function cachedBytes (knex: Knex, remoteName: string): Promise<number> {
  const held = knex('pulp_remote_artifacts as ra').join('pulp_artifacts as a', 'a.sha256', 'ra.sha256')
    .where('ra.remote_name', remoteName).whereNull('a.evicted').distinct('a.sha256', 'a.size')
  const [{ n }] = await knex.from(held.as('held')).sum({ n: 'size' }) as Array<{ n: number | string | null }>
  return n === null ? 0 : toNumber(n)
}

/**
 * Keeps only the artifacts (`alias`.sha256) that nothing but the scope's own cache needs: no
 * metadata cache entry, no other remote's path, no unit other than those the remote's paths
 * recorded, and no repository holding such a unit but the distribution's own, and that one
 * only while it has no distributor. (Files a publication links to are found on disk, by the
 * caller.)
 */
function onlyCached (db: Knex, query: Knex.QueryBuilder, alias: string, scope: QuotaScope): Knex.QueryBuilder {
  const sha = `${alias}.sha256`
  return query
    .whereNotExists(db('pulp_pull_entries as pe').select(db.raw('1')).whereRaw(`pe.sha256 = ${sha}`))
    .whereNotExists(db('pulp_remote_artifacts as other').select(db.raw('1')).whereRaw(`other.sha256 = ${sha}`)
      .whereNot('other.remote_name', scope.remoteName))
    .whereNotExists(db('pulp_units as u').select(db.raw('1')).whereRaw(`u.sha256 = ${sha}`)
      .whereNotExists(db('pulp_remote_artifacts as mine').select(db.raw('1')).whereRaw('mine.unit_id = u.id')
        .where('mine.remote_name', scope.remoteName)))
    .whereNotExists(db('pulp_units as held').join('pulp_repository_units as ru', 'ru.unit_id', 'held.id')
      .select(db.raw('1')).whereRaw(`held.sha256 = ${sha}`)
      .where((w) => {
        if (scope.repository === null) return
        // Its own repository keeps them too once it has a distributor: a publish links every unit.
        w.whereNot('ru.repository_id', scope.repository)
          .orWhereExists(db('pulp_repo_distributors as rd').select(db.raw('1')).whereRaw('rd.repository_id = ru.repository_id'))
      }))
}

/**
 * The remote's stored artifacts that only its cache needs, least recently served first (a path
 * never served since it was pulled counts from its pull).
 */
export async function evictionCandidates (knex: Knex, scope: QuotaScope): Promise<EvictionCandidate[]> {
  const query = knex('pulp_remote_artifacts as ra').join('pulp_artifacts as a', 'a.sha256', 'ra.sha256')
    .where('ra.remote_name', scope.remoteName).whereNull('a.evicted')
    .groupBy('ra.sha256', 'a.size')
    .select('ra.sha256', 'a.size', knex.raw('max(coalesce(ra.last_served, ra.created)) as last'))
    .orderBy([{ column: 'last', order: 'asc' }, { column: 'ra.sha256', order: 'asc' }])
  const rows = await onlyCached(knex, query, 'ra', scope) as Array<{ sha256: string, size: number | string }>
  return rows.map((r) => ({ sha256: r.sha256, size: toNumber(r.size) }))
}

/**
 * Marks `shas` evicted (each checked again in the UPDATE itself, so a reference that arrived
 * since the candidates were read keeps its artifact), runs `unlink` on what was marked, then
 * commits. A writer recording one of these artifacts meanwhile waits for the commit, clears the
 * mark and links its own copy back (see recordArtifact and saveDownload), as with orphan cleanup.
 */
export async function markEvicted (knex: Knex, scope: QuotaScope, shas: readonly string[],
  unlink: (marked: EvictionCandidate[]) => Promise<void>): Promise<EvictionCandidate[]> {
  const marked: EvictionCandidate[] = []
  for (let i = 0; i < shas.length; i += CHUNK) {
    const chunk = shas.slice(i, i + CHUNK)
    await knex.transaction(async (trx) => {
      const stamp = now()
      await onlyCached(trx, trx('pulp_artifacts').whereIn('sha256', chunk).whereNull('evicted'), 'pulp_artifacts', scope)
        .update({ evicted: stamp })
      // The write lock (SQLite) or the rows' locks (PostgreSQL) are ours since the UPDATE.
      const rows = await trx('pulp_artifacts').whereIn('sha256', chunk).where('evicted', stamp).select('sha256', 'size') as Array<{ sha256: string, size: number | string }>
      const batch = rows.map((r) => ({ sha256: r.sha256, size: toNumber(r.size) }))
      await unlink(batch)
      marked.push(...batch)
    })
  }
  return marked
}
