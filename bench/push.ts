/**
 * 8. push: `pulp-middleware push` of a directory tree into a server in another process, timed
 * as a user sees it (the command's whole run), against the local floor for the same bytes:
 * `cp -r` of the tree on the same disk, then `sha256sum` of the copy. Then a second push of the
 * unchanged tree against the first, and one file per upload request against the default
 * batching, the measure behind FILES_PER_REQUEST in lib/cli/push.ts.
 */
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { bodyChunks, formatBytes, GiB, KiB, MiB } from './lib/bytes'
import { ensureBuilt } from './lib/build'
import { startChild, type Child } from './lib/child'
import { settleDisk } from './lib/disk'
import { bySize, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { ratioLine, type Line } from './lib/report'
import type { PulpServerArgs } from './servers/pulp'
import { FILES_PER_REQUEST } from '../lib/cli/push'

const TITLE = 'push vs cp -r + sha256sum'
const run = promisify(execFile)

async function seconds (fn: () => Promise<unknown>): Promise<number> {
  settleDisk()
  const t0 = performance.now()
  await fn()
  return (performance.now() - t0) / 1000
}

/** `count` files of 1-10 KiB, 100 to a directory, two levels deep. */
async function smallTree (root: string, count: number): Promise<number> {
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, `d${Math.floor(i / 1000)}`, `e${Math.floor(i / 100) % 10}`)
    if (i % 100 === 0) await mkdir(dir, { recursive: true })
    const size = KiB + Math.floor(Math.random() * 9 * KiB)
    bytes += size
    await writeFile(path.join(dir, `f${i}.bin`), randomBytes(size))
  }
  return bytes
}

async function largeTree (root: string, size: number): Promise<void> {
  await mkdir(root, { recursive: true })
  await pipeline(Readable.from(bodyChunks(size, 'push-large', 'binary')), createWriteStream(path.join(root, 'large.bin')))
}

/**
 * The floor: copy the tree on the same disk, then hash every file of the copy. The copy is
 * left for the caller to remove once the pushes are timed: on ext4 without a journal (this
 * machine's disk) a file created within a minute or so of many deletions costs far more, as
 * the allocator steps over every recently freed inode (`recently_deleted()` in the kernel's
 * ialloc.c), so removing the copy first would make the push pay for the floor's files.
 */
async function copyAndHash (tree: string, target: string): Promise<number> {
  return await seconds(async () => {
    await run('cp', ['-r', tree, target])
    await run('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 sha256sum > /dev/null', 'sh', target], { maxBuffer: 1 << 20 })
  })
}

runMeasure(8, TITLE, async (ctx: MeasureContext) => {
  const cli = path.join(await ensureBuilt(), 'lib', 'cli', 'index.js')
  const files = bySize(ctx, { full: 10_000, quick: 2_000, smoke: 50 })
  const largeSize = bySize(ctx, { full: GiB, quick: 256 * MiB, smoke: 4 * MiB })
  const children: Array<Child<unknown>> = []
  const lines: Line[] = []
  try {
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir: path.join(ctx.tmp, 'pulp') } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    const url = `http://127.0.0.1:${server.ready.port}/pulp`
    const push = async (repo: string, tree: string, extra: string[] = []): Promise<{ s: number, summary: Record<string, number> }> => {
      let stdout = ''
      // The digests a push remembers go to the run's own cache directory, not the user's.
      const env = { ...process.env, XDG_CACHE_HOME: path.join(ctx.tmp, 'cache') }
      const s = await seconds(async () => { ({ stdout } = await run(process.execPath, [cli, 'push', repo, tree, '--json', '--url', url, ...extra], { env })) })
      return { s, summary: JSON.parse(stdout) as Record<string, number> }
    }
    let repos = 0
    const newRepo = async (): Promise<string> => {
      const id = `r${++repos}`
      await run(process.execPath, [cli, 'repo', 'create', id, '--url', url])
      return id
    }

    const cases = [
      { name: `${files.toLocaleString('en-US')} files of 1-10 KiB`, full: '10,000 files', target: 3, make: async (dir: string) => { await smallTree(dir, files) } },
      { name: `one ${formatBytes(largeSize)} file`, full: '1 GiB', target: 1.5, make: async (dir: string) => { await largeTree(dir, largeSize) } }
    ]
    for (const [i, c] of cases.entries()) {
      const tree = path.join(ctx.tmp, `tree${i}`)
      await c.make(tree)
      const copy = path.join(ctx.tmp, `copy${i}`)
      const floor = await copyAndHash(tree, copy)
      const repo = await newRepo()
      const first = await push(repo, tree)
      if (first.summary.added === 0) throw new Error(`the first push added nothing: ${JSON.stringify(first.summary)}`)
      const second = await push(repo, tree)
      if (second.summary.uploads !== 0) throw new Error(`the second push uploaded: ${JSON.stringify(second.summary)}`)
      // Every file read and hashed again, as when nothing is remembered (another machine, --rehash).
      const rehashed = await push(repo, tree, ['--rehash'])
      ctx.log(`${c.name}: cp -r + sha256sum ${floor.toFixed(2)} s, push ${first.s.toFixed(2)} s (${first.summary.uploads} requests), ` +
        `again ${second.s.toFixed(2)} s (${second.summary.hashed} files read), --rehash ${rehashed.s.toFixed(2)} s`)
      lines.push(ratioLine({ measure: 8, title: TITLE, case: `${c.name}${smallerNote(ctx, c.full)}`, unit: 's', ours: first.s, peer: floor }, { op: '<=', value: c.target }))
      lines.push(ratioLine({ measure: 8, title: 'push again, unchanged', case: `${c.name}${smallerNote(ctx, c.full)}`, unit: 's', ours: second.s, peer: first.s, peerLabel: 'first push' }, { op: '<=', value: 0.2 }))
      lines.push(ratioLine({
        measure: 8, title: 'push again, unchanged, --rehash', case: `${c.name}${smallerNote(ctx, c.full)}`, unit: 's', ours: rehashed.s, peer: first.s, peerLabel: 'first push'
      }, null))
      await rm(tree, { recursive: true, force: true })
      await rm(copy, { recursive: true, force: true })
    }

    // The batching behind FILES_PER_REQUEST, on 1,000 small files (one request per file for
    // all 10,000 takes minutes on a busy machine; 300 in quick mode, to stay in its 90 s).
    const sample = path.join(ctx.tmp, 'batching')
    const sampleFiles = bySize(ctx, { full: 1000, quick: 300, smoke: 50 })
    await smallTree(sample, sampleFiles)
    const batched = await push(await newRepo(), sample)
    const single = await push(await newRepo(), sample, ['--files-per-request', '1'])
    ctx.log(`${sampleFiles} files: ${batched.s.toFixed(2)} s in ${batched.summary.uploads} requests, ${single.s.toFixed(2)} s one file per request`)
    lines.push(ratioLine({
      measure: 8, title: `push, ${FILES_PER_REQUEST} files per request vs one`, case: `${sampleFiles.toLocaleString('en-US')} files of 1-10 KiB`, unit: 's', ours: batched.s, peer: single.s, peerLabel: '1 per request'
    }, null))
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
  return lines
})
