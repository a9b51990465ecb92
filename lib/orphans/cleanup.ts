import path from 'node:path'
import { unlink } from 'node:fs/promises'
import type { Knex } from 'knex'
import type { ArtifactStore } from '../artifacts/store'
import type { ResolvedOptions } from '../options'
import type { Dialect } from '../storage/connection'
import { toNumber } from '../storage/rows'
import { linkedArtifacts } from './publication-links'

/** What a cleanup uses of its instance's context (core/context.ts), and no more. */
export interface CleanupContext {
  readonly options: Pick<ResolvedOptions, 'dataDir'>
  readonly knex: Knex
  readonly dialect: Dialect
  readonly artifacts: Pick<ArtifactStore, 'pathOf'>
}

export interface CleanupResult {
  /** Units that no repository held and no remote path recorded. */
  units: number
  /** Artifact files removed, and their bytes. */
  files: number
  bytes: number
}

/** Rows deleted (and files unlinked) per transaction: row locks are held for one batch only. */
const BATCH = 500
const UNLINKS_AT_ONCE = 8

function unreferencedUnits (knex: Knex, cutoff: string): Knex.QueryBuilder {
  return knex('pulp_units as u').where('u.created', '<', cutoff)
    .whereNotExists(knex('pulp_repository_units as ru').select(knex.raw('1')).whereRaw('ru.unit_id = u.id'))
    .whereNotExists(knex('pulp_remote_artifacts as ra').select(knex.raw('1')).whereRaw('ra.unit_id = u.id'))
}

/**
 * The tables whose `sha256` references an artifact: a unit, a remote path, and a pull-through
 * cache entry (a metadata copy, which has no unit).
 */
const ARTIFACT_REFERENCES = ['pulp_units', 'pulp_remote_artifacts', 'pulp_pull_entries'] as const

/** Keeps only the artifacts (`alias`.sha256) that no table of ARTIFACT_REFERENCES references. */
function unreferenced (db: Knex | Knex.Transaction, query: Knex.QueryBuilder, alias: string): Knex.QueryBuilder {
  for (const table of ARTIFACT_REFERENCES) {
    query = query.whereNotExists(db(`${table} as r`).select(db.raw('1')).whereRaw(`r.sha256 = ${alias}.sha256`))
  }
  return query
}

function unreferencedArtifacts (db: Knex | Knex.Transaction, cutoff: string): Knex.QueryBuilder {
  return unreferenced(db, db('pulp_artifacts as a').where('a.created', '<', cutoff), 'a')
}

/**
 * Removes what nothing references and is older than `protectionMinutes`: units in no
 * repository and behind no remote path, then artifacts of no unit, no remote path, no
 * pull-through cache entry and no publication on disk (live, grace-period or being built).
 *
 * Safe against a writer adopting the same bytes meanwhile on any instance: each batch deletes
 * its rows (re-checking every reference in the DELETE itself), unlinks their files, and only
 * then commits. A writer's row for one of those artifacts waits for that commit (the row is
 * locked on PostgreSQL; SQLite has one writer at a time) and is then inserted afresh; the
 * writer links its own copy back once its rows are in (see PendingArtifact.commitWith and
 * saveDownload), so bytes that rows point to are never left missing.
 */
export async function cleanupOrphans (ctx: CleanupContext, protectionMinutes: number): Promise<CleanupResult> {
  const { knex } = ctx
  const cutoff = new Date(Date.now() - protectionMinutes * 60_000).toISOString()
  const result: CleanupResult = { units: 0, files: 0, bytes: 0 }

  const unitIds = (await unreferencedUnits(knex, cutoff).select('u.id') as Array<{ id: string }>).map((r) => r.id)
  for (let i = 0; i < unitIds.length; i += BATCH) {
    // The conditions again in the DELETE: a unit joined to a repository since is kept (and a
    // join racing the DELETE fails on its foreign key, which the caller retries).
    result.units += await knex('pulp_units').whereIn('id', unitIds.slice(i, i + BATCH))
      .whereNotExists(knex('pulp_repository_units as ru').select(knex.raw('1')).whereRaw('ru.unit_id = pulp_units.id'))
      .whereNotExists(knex('pulp_remote_artifacts as ra').select(knex.raw('1')).whereRaw('ra.unit_id = pulp_units.id'))
      .delete()
  }

  const candidates = await unreferencedArtifacts(knex, cutoff).select('a.sha256') as Array<{ sha256: string }>
  if (candidates.length === 0) return result
  const linked = await linkedArtifacts(path.join(ctx.options.dataDir, 'publications'))
  const doomed = candidates.map((r) => r.sha256).filter((sha) => !linked.has(sha))

  for (let i = 0; i < doomed.length; i += BATCH) {
    const batch = doomed.slice(i, i + BATCH)
    try {
      await removeBatch(ctx, batch, cutoff, result)
    } catch {
      // A reference that arrived during the DELETE (a foreign key refusing it): one by one,
      // so the rest of the batch still goes.
      for (const sha of batch) await removeBatch(ctx, [sha], cutoff, result).catch(() => {})
    }
  }
  return result
}

async function removeBatch (ctx: CleanupContext, batch: string[], cutoff: string, result: CleanupResult): Promise<void> {
  const freed = { files: 0, bytes: 0 }
  await ctx.knex.transaction(async (trx) => {
    const rows = await unreferencedArtifacts(trx, cutoff).whereIn('a.sha256', batch).select('a.sha256', 'a.size') as Array<{ sha256: string, size: number | string }>
    if (rows.length === 0) return
    const shas = rows.map((r) => r.sha256)
    const deleting = unreferenced(trx, trx('pulp_artifacts').whereIn('sha256', shas), 'pulp_artifacts')
    let deleted: Array<{ sha256: string, size: number | string }>
    if (ctx.dialect === 'postgresql') {
      deleted = await deleting.delete().returning(['sha256', 'size']) as typeof deleted
    } else {
      // SQLite answers a count. Its transaction holds the database's one write lock from the
      // DELETE on, and a write since our SELECT would have failed it (a stale snapshot), so
      // the same count means the same rows; anything else goes the one-by-one way.
      const n = await deleting.delete() as number
      if (n !== rows.length) throw new Error('the orphans changed while being removed')
      deleted = rows
    }
    // Unlinked before the commit: a writer waiting on these rows finds the file gone and
    // links its own copy.
    // A few at a time: the thread pool removes files in parallel, and the row locks are held
    // for less time.
    for (let i = 0; i < deleted.length; i += UNLINKS_AT_ONCE) {
      await Promise.all(deleted.slice(i, i + UNLINKS_AT_ONCE).map(async (row) => {
        try {
          await unlink(ctx.artifacts.pathOf(row.sha256))
          freed.files++
          freed.bytes += toNumber(row.size)
        } catch (err: unknown) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
        }
      }))
    }
  })
  result.files += freed.files
  result.bytes += freed.bytes
}
