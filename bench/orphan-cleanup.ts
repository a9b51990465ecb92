/**
 * 9. Orphan cleanup vs a bare unlink loop: artifacts (half of them units of a repository,
 * half orphans), then the cleanup task's work timed against a loop that removes as many files of
 * the same size from a plain directory.
 */
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { mkdir, unlink, writeFile } from 'node:fs/promises'
import { createContext } from '../lib/core/context'
import { resolveOptions } from '../lib/options'
import { cleanupOrphans } from '../lib/orphans/cleanup'
import { openConnection } from '../lib/storage/connection'
import { migrateLatest } from '../lib/storage/migrations'
import { bySize, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { ratioLine } from './lib/report'

const TITLE = 'orphan cleanup vs bare unlink loop'

function sha (i: number, salt: string): string {
  return (salt + i.toString(16).padStart(16, '0')).padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, 'a')
}

runMeasure(10, TITLE, async (ctx: MeasureContext) => {
  const total = bySize(ctx, { full: 100_000, quick: 10_000, smoke: 1000 })
  const orphans = total / 2
  const dataDir = path.join(ctx.tmp, 'pulp')
  const options = resolveOptions({ dataDir, runner: false })
  const connection = openConnection(options.database, dataDir)
  const pulp = createContext(options, connection)
  try {
    await migrateLatest(pulp.knex)
    await pulp.artifacts.init()
    ctx.log(`writing ${total} artifacts (${orphans} orphans) and ${orphans} plain files`)
    const old = new Date(Date.now() - 3_600_000).toISOString()
    const plain = path.join(ctx.tmp, 'plain')
    const plainFiles: string[] = []
    await pulp.knex('pulp_repositories').insert({ id: 'kept', created: old, updated: old })
    for (let start = 0; start < total; start += 500) {
      const artifacts = []
      const units = []
      for (let i = start; i < Math.min(total, start + 500); i++) {
        const digest = sha(i, 'ab')
        const file = pulp.artifacts.pathOf(digest)
        await mkdir(path.dirname(file), { recursive: true })
        await writeFile(file, 'x'.repeat(64))
        artifacts.push({ sha256: digest, size: 64, created: old })
        if (i >= orphans) units.push({ id: randomUUID(), type_id: 'file', relative_path: `f${i}`, sha256: digest, size: 64, created: old })
        else {
          // The peer's files: the same count and size, in as many directories.
          const p = path.join(plain, digest.slice(0, 2), digest.slice(2))
          await mkdir(path.dirname(p), { recursive: true })
          await writeFile(p, 'x'.repeat(64))
          plainFiles.push(p)
        }
      }
      await pulp.knex('pulp_artifacts').insert(artifacts)
      if (units.length > 0) {
        await pulp.knex('pulp_units').insert(units)
        await pulp.knex('pulp_repository_units').insert(units.map((u) => ({ repository_id: 'kept', unit_id: u.id, relative_path: u.relative_path, added: old })))
      }
    }
    ctx.log('removing')
    const t0 = performance.now()
    for (const p of plainFiles) await unlink(p)
    const bare = (performance.now() - t0) / 1000
    const t1 = performance.now()
    const freed = await cleanupOrphans(pulp, 0)
    const ours = (performance.now() - t1) / 1000
    if (freed.files !== orphans) throw new Error(`the cleanup removed ${freed.files} files, not ${orphans}`)
    return [ratioLine({
      measure: 10,
      title: TITLE,
      case: `${total} artifacts, ${orphans} orphans${smallerNote(ctx, '100,000 / 50,000')}, seconds`,
      unit: 's',
      ours,
      peer: bare,
      note: `${pulp.dialect}; the cleanup's 500-row transactions delete rows and unlink files`
    }, { op: '<=', value: 2 })]
  } finally {
    await pulp.knex.destroy()
  }
})
