import path from 'node:path'
import { readdir, stat } from 'node:fs/promises'
import type { Knex } from 'knex'
import { toNumber } from '../storage/rows'

/** Tasks by state, counted by the database at scrape time. */
export async function countTasks (knex: Knex): Promise<Record<string, number>> {
  const rows = await knex('pulp_tasks').select('state').count({ n: '*' }).groupBy('state') as Array<{ state: string, n: number | string }>
  return Object.fromEntries(rows.map((r) => [r.state, toNumber(r.n)]))
}

/** Bytes of the files in one directory (not below it); files that go meanwhile count nothing. */
export async function directoryBytes (dir: string): Promise<number> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return 0
  }
  let total = 0
  for (const name of names) total += await stat(path.join(dir, name)).then((s) => s.isFile() ? s.size : 0, () => 0)
  return total
}

/**
 * Artifact bytes as the database records them (one query, however many files: walking
 * `artifacts/` would cost a stat per file per scrape), without those a pull-through quota
 * evicted, and the temp files' bytes.
 */
export async function storageBytes (knex: Knex, tmpDir: string): Promise<Record<string, number>> {
  const [{ n }] = await knex('pulp_artifacts').whereNull('evicted').sum({ n: 'size' }) as Array<{ n: number | string | null }>
  return { artifacts: n === null ? 0 : toNumber(n), tmp: await directoryBytes(tmpDir) }
}

/**
 * Bytes each distribution's pull-through cache holds in the store: the recorded sizes of its
 * remote's artifacts, each once, without those a quota evicted (a remote behind several
 * distributions counts for each).
 */
export async function distributionCacheBytes (knex: Knex): Promise<Record<string, number>> {
  const held = knex('pulp_remote_artifacts as ra').join('pulp_artifacts as a', 'a.sha256', 'ra.sha256')
    .whereNull('a.evicted').distinct('ra.remote_name', 'a.sha256', 'a.size')
  const rows = await knex('pulp_distributions as d').join(held.as('c'), 'c.remote_name', 'd.remote_name')
    .groupBy('d.name').select('d.name').sum({ n: 'c.size' }) as Array<{ name: string, n: number | string | null }>
  return Object.fromEntries(rows.map((r) => [r.name, r.n === null ? 0 : toNumber(r.n)]))
}
