/**
 * 5. Publish: a repository of 100k units (10k in quick mode) published by the `web`
 * distributor, against a bare loop creating the same symlinks in the same layout; then a
 * republish after one unit changed.
 *
 * Set-up (not timed) writes the artifacts and batch-inserts the rows through knex into the
 * real tables of the SQLite database that pulp-middleware created.
 */
import path from 'node:path'
import { createHash, randomUUID } from 'node:crypto'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import knexFactory from 'knex'
import { publishWeb, withPulp } from './lib/fixtures'
import { bySize, roundsOf, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { settleDisk } from './lib/disk'
import { median, ratioLine, spread, type Line } from './lib/report'

const TITLE = 'publish'
const REPO = 'big'
/** knex inserts a SQLite batch as one compound SELECT, which SQLite caps at 500 terms. */
const CHUNK = 400

interface BenchUnit { relativePath: string, sha256: string, size: number }

function unitsOf (count: number): BenchUnit[] {
  const units: BenchUnit[] = []
  for (let i = 0; i < count; i++) {
    const content = `unit ${i}\n`
    units.push({
      // 100 top directories of 10 subdirectories: a thousand directories of 100 files at 100k.
      relativePath: `d${i % 100}/s${Math.floor(i / 100) % 10}/f${i}.bin`,
      sha256: createHash('sha256').update(content).digest('hex'),
      size: Buffer.byteLength(content)
    })
  }
  return units
}

function artifactPath (dataDir: string, sha256: string): string {
  return path.join(dataDir, 'artifacts', sha256.slice(0, 2), sha256.slice(2))
}

async function populate (dataDir: string, units: BenchUnit[]): Promise<void> {
  for (let i = 0; i < units.length; i++) {
    const file = artifactPath(dataDir, units[i].sha256)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, `unit ${i}\n`, { mode: 0o444 })
  }
  const knex = knexFactory({ client: 'sqlite3', connection: { filename: path.join(dataDir, 'pulp.sqlite') }, useNullAsDefault: true })
  try {
    const at = new Date().toISOString()
    const ids = units.map(() => randomUUID())
    await knex.transaction(async (trx) => {
      await trx.batchInsert('pulp_artifacts', units.map((u) => ({ sha256: u.sha256, size: u.size, created: at })), CHUNK)
      await trx.batchInsert('pulp_units', units.map((u, i) => ({ id: ids[i], type_id: 'file', relative_path: u.relativePath, sha256: u.sha256, size: u.size, created: at })), CHUNK)
      await trx.batchInsert('pulp_repository_units', units.map((u, i) => ({ repository_id: REPO, unit_id: ids[i], relative_path: u.relativePath, added: at })), CHUNK)
      await trx('pulp_repositories').where({ id: REPO }).increment('content_version', 1).update({ last_unit_added: at, updated: at })
    })
  } finally {
    await knex.destroy()
  }
}

/** The peer: the same links, relative like ours, made by the simplest loop Node offers. */
function bareLoop (dataDir: string, root: string, units: BenchUnit[]): void {
  const made = new Set<string>()
  for (const u of units) {
    const link = path.join(root, ...u.relativePath.split('/'))
    const dir = path.dirname(link)
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true })
      made.add(dir)
    }
    symlinkSync(path.relative(dir, artifactPath(dataDir, u.sha256)), link)
  }
}

runMeasure(5, TITLE, async (ctx: MeasureContext) => {
  const count = bySize(ctx, { full: 100_000, quick: 10_000, smoke: 500 })
  const rounds = roundsOf(ctx, 3)
  const dataDir = path.join(ctx.tmp, 'pulp')
  const units = unitsOf(count)
  ctx.log(`set-up: ${count} units`)
  const options = { runner: { pollInterval: 1 } }
  await withPulp(dataDir, async ({ pulp }) => {
    await pulp.repositories.create({ id: REPO })
    await pulp.distributors.add(REPO, { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: REPO } })
  }, options)
  await populate(dataDir, units)

  const bare: number[] = []
  const full: number[] = []
  let republish = Number.NaN
  await withPulp(dataDir, async ({ pulp }) => {
    for (let round = 0; round < rounds; round++) {
      // Alternating, and every tree kept until the end on both sides: a bare loop right after
      // removing 100k links ran up to 4x slower than one in a quiet directory tree.
      for (const side of round % 2 === 0 ? ['bare', 'publish'] as const : ['publish', 'bare'] as const) {
        settleDisk()
        const t0 = performance.now()
        if (side === 'bare') {
          bareLoop(dataDir, path.join(ctx.tmp, `bare-${round}`), units)
        } else {
          // Forced: a round after the first would otherwise be skipped as unchanged.
          await publishWeb(pulp, REPO, { force: true })
        }
        const ms = performance.now() - t0
        ;(side === 'bare' ? bare : full).push(ms)
        ctx.log(`round ${round + 1}: ${side === 'bare' ? 'bare loop' : 'publish'} ${ms.toFixed(0)} ms`)
      }
    }
    // One unit changes: same path, new bytes.
    await pulp.repositories.addContent(REPO, { file: Buffer.from('changed\n'), relativePath: units[count >> 1].relativePath })
    settleDisk()
    const t0 = performance.now()
    await publishWeb(pulp, REPO)
    republish = performance.now() - t0
    ctx.log(`republish after one change: ${republish.toFixed(0)} ms`)
  }, options)

  const label = `${count.toLocaleString('en-US')} units${smallerNote(ctx, '100,000')}`
  const lines: Line[] = [
    ratioLine({ measure: 5, title: TITLE, case: `${label}, web distributor vs bare symlink loop`, unit: 's', ours: median(full) / 1000, peer: median(bare) / 1000, samples: { ours: full, peer: bare }, ...(rounds > 1 ? { note: `spread ${spread(full).toFixed(0)}%/${spread(bare).toFixed(0)}%` } : {}) }, { op: '<=', value: 3 }),
    ratioLine({ measure: 5, title: TITLE, case: `${label}, republish after one unit changed`, unit: 's', ours: republish / 1000, peer: median(bare) / 1000 }, null)
  ]
  return lines
})
