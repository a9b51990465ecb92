/**
 * 8. push: `pulp-middleware push` of a directory tree into a server in another process, timed
 * as a user sees it (the command's whole run), against the local floor for the same bytes:
 * `cp -r` of the tree on the same disk, then `sha256sum` of the copy. Then a second push of the
 * unchanged tree against the first, and one file per upload request against the default
 * batching, the measure behind FILES_PER_REQUEST in lib/cli/push.ts. Each case runs on a new
 * file system (`--disk`, bench/lib/scratch-disk.ts), so the floor does not depend on what the
 * disk went through before.
 */
import path from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { bodyChunks, formatBytes, GiB, KiB, MiB } from './lib/bytes'
import { ensureBuilt } from './lib/build'
import { startChild, type Child } from './lib/child'
import { settleDisk } from './lib/disk'
import { ScratchDisks } from './lib/scratch-disk'
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

/** The floor: copy the tree on the same disk, then hash every file of the copy. */
async function copyAndHash (tree: string, target: string): Promise<number> {
  return await seconds(async () => {
    await run('cp', ['-r', tree, target])
    await run('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 sha256sum > /dev/null', 'sh', target], { maxBuffer: 1 << 20 })
  })
}

/** A pulp server whose data directory is `dataDir`, and the command line's `push` and `repo create` against it. */
async function pushTarget (ctx: MeasureContext, cli: string, dataDir: string): Promise<{
  push: (tree: string, extra?: string[]) => Promise<{ s: number, summary: Record<string, number> }>
  repo: () => Promise<void>
  stop: () => Promise<void>
}> {
  const server: Child<{ port: number }> = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
  const url = `http://127.0.0.1:${server.ready.port}/pulp`
  let repos = 0
  return {
    // A new repository: every push after it goes there.
    repo: async () => { await run(process.execPath, [cli, 'repo', 'create', `r${++repos}`, '--url', url]) },
    push: async (tree, extra = []) => {
      let stdout = ''
      // The digests a push remembers go to the run's own cache directory, not the user's.
      const env = { ...process.env, XDG_CACHE_HOME: path.join(ctx.tmp, 'cache') }
      const s = await seconds(async () => { ({ stdout } = await run(process.execPath, [cli, 'push', `r${repos}`, tree, '--json', '--url', url, ...extra], { env })) })
      return { s, summary: JSON.parse(stdout) as Record<string, number> }
    },
    stop: async () => { await server.stop() }
  }
}

runMeasure(8, TITLE, async (ctx: MeasureContext) => {
  const cli = path.join(await ensureBuilt(), 'lib', 'cli', 'index.js')
  const files = bySize(ctx, { full: 10_000, quick: 2_000, smoke: 50 })
  const largeSize = bySize(ctx, { full: GiB, quick: 256 * MiB, smoke: 4 * MiB })
  const lines: Line[] = []
  // Each case on a file system of its own, made for it (see scratch-disk.ts): the tree, the
  // floor's copy and the server's data directory, so no case pays for another's files.
  const disks = new ScratchDisks(ctx.disk, ctx.tmp)
  const onDisk = async <T>(bytes: number, body: (dir: string) => Promise<T>): Promise<T> => {
    const disk = await disks.make(bytes)
    if (disk.note !== undefined) ctx.log(disk.note)
    try {
      return await body(disk.dir)
    } finally {
      disk.close()
    }
  }
  const withServer = async <T>(dir: string, body: (target: Awaited<ReturnType<typeof pushTarget>>) => Promise<T>): Promise<T> => {
    const target = await pushTarget(ctx, cli, path.join(dir, 'pulp'))
    try {
      return await body(target)
    } finally {
      await target.stop()
    }
  }
  // Small files take a block each, three times over (tree, copy, store).
  const smallRoom = (n: number): number => n * 3 * 16 * KiB
  const cases = [
    { name: `${files.toLocaleString('en-US')} files of 1-10 KiB`, full: '10,000 files', target: 3, room: smallRoom(files), make: async (dir: string) => { await smallTree(dir, files) } },
    { name: `one ${formatBytes(largeSize)} file`, full: '1 GiB', target: 1.5, room: 3 * largeSize, make: async (dir: string) => { await largeTree(dir, largeSize) } }
  ]
  try {
    for (const c of cases) {
      await onDisk(c.room, async (dir) => {
        const tree = path.join(dir, 'tree')
        await c.make(tree)
        const floor = await copyAndHash(tree, path.join(dir, 'copy'))
        const { first, second, rehashed } = await withServer(dir, async (target) => {
          await target.repo()
          const first = await target.push(tree)
          if (first.summary.added === 0) throw new Error(`the first push added nothing: ${JSON.stringify(first.summary)}`)
          const second = await target.push(tree)
          if (second.summary.uploads !== 0) throw new Error(`the second push uploaded: ${JSON.stringify(second.summary)}`)
          // Every file read and hashed again, as when nothing is remembered (another machine, --rehash).
          const rehashed = await target.push(tree, ['--rehash'])
          return { first, second, rehashed }
        })
        ctx.log(`${c.name} (${ctx.disk === 'tmp' ? 'temp directory' : `fresh ${ctx.disk}`}): cp -r + sha256sum ${floor.toFixed(2)} s, ` +
          `push ${first.s.toFixed(2)} s (${first.summary.uploads} requests), ` +
          `again ${second.s.toFixed(2)} s (${second.summary.hashed} files read), --rehash ${rehashed.s.toFixed(2)} s`)
        const label = `${c.name}${smallerNote(ctx, c.full)}`
        lines.push(ratioLine({ measure: 8, title: TITLE, case: label, unit: 's', ours: first.s, peer: floor }, { op: '<=', value: c.target }))
        lines.push(ratioLine({ measure: 8, title: 'push again, unchanged', case: label, unit: 's', ours: second.s, peer: first.s, peerLabel: 'first push' }, { op: '<=', value: 0.2 }))
        lines.push(ratioLine({ measure: 8, title: 'push again, unchanged, --rehash', case: label, unit: 's', ours: rehashed.s, peer: first.s, peerLabel: 'first push' }, null))
      })
    }

    // The batching behind FILES_PER_REQUEST, on 1,000 small files (one request per file for
    // all 10,000 takes minutes on a busy machine; 300 in quick mode, to stay in its 90 s).
    const sampleFiles = bySize(ctx, { full: 1000, quick: 300, smoke: 50 })
    await onDisk(smallRoom(sampleFiles) * 2, async (dir) => {
      const sample = path.join(dir, 'batching')
      await smallTree(sample, sampleFiles)
      const { batched, single } = await withServer(dir, async (target) => {
        await target.repo()
        const batched = await target.push(sample)
        await target.repo()
        const single = await target.push(sample, ['--files-per-request', '1'])
        return { batched, single }
      })
      ctx.log(`${sampleFiles} files: ${batched.s.toFixed(2)} s in ${batched.summary.uploads} requests, ${single.s.toFixed(2)} s one file per request`)
      lines.push(ratioLine({
        measure: 8, title: `push, ${FILES_PER_REQUEST} files per request vs one`, case: `${sampleFiles.toLocaleString('en-US')} files of 1-10 KiB`, unit: 's', ours: batched.s, peer: single.s, peerLabel: '1 per request'
      }, null))
    })
  } finally {
    disks.closeAll()
  }
  return lines
})
