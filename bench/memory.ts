/**
 * 7. Memory: peak RSS of the pulp-middleware server process while it streams 1 GiB in each
 * of an upload, a cold pull and serving a published file. Each case gets a fresh server;
 * the kernel's high-water mark is reset once the server is warm, so the figure is the peak
 * of the stream itself (the "idle" column is the RSS at that reset).
 */
import path from 'node:path'
import { Readable } from 'node:stream'
import { bodyChunks, formatBytes, GiB, MiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { publishFiles, withPulp } from './lib/fixtures'
import { timedRequest, untilHit, uploadMultipart } from './lib/http'
import type { MemoryFigures } from './lib/memory'
import { bySize, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { startPullSetup } from './lib/pull-setup'
import { absoluteLine, formatValue, type Line } from './lib/report'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'memory: peak RSS'
const LIMIT_MB = 150
const MB = 1e6

async function window (server: Child<unknown>, stream: () => Promise<void>): Promise<{ idle: number, peak: number, method: string }> {
  const idle = await server.rpc.call<MemoryFigures>('memory-reset')
  await stream()
  const after = await server.rpc.call<MemoryFigures>('memory')
  return { idle: idle.rss, peak: after.peak, method: after.method }
}

runMeasure(7, TITLE, async (ctx: MeasureContext) => {
  const size = bySize(ctx, { full: GiB, quick: 256 * MiB, smoke: 8 * MiB })
  const label = `${formatBytes(size)}${smallerNote(ctx, '1 GiB')}`
  const results: Array<{ name: string, idle: number, peak: number, method: string }> = []

  // Upload.
  {
    const dataDir = path.join(ctx.tmp, 'upload')
    await withPulp(dataDir, async ({ pulp }) => { await pulp.repositories.create({ id: 'mem' }) })
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    try {
      const url = `http://127.0.0.1:${server.ready.port}/pulp/api/v1/repositories/mem/content`
      await uploadMultipart(url, MiB, 'warm', 'warm.bin')
      results.push({ name: 'upload', ...await window(server, async () => {
        const r = await uploadMultipart(url, size, 'mem-upload', 'big.bin')
        if (r.status !== 201) throw new Error(`the upload answered ${r.status}: ${r.body.slice(0, 300)}`)
      }) })
    } finally {
      await server.stop()
    }
  }
  ctx.log(`upload: ${results.at(-1)?.peak} bytes peak`)

  // Cold pull.
  {
    const setup = await startPullSetup(ctx)
    try {
      const warm = setup.pulled(MiB, 'warm')
      await timedRequest(warm)
      await untilHit(warm)
      results.push({ name: 'cold pull', ...await window(setup.server, async () => {
        const url = setup.pulled(size, 'mem-pull')
        const r = await timedRequest(url)
        if (r.status !== 200 || r.bytes !== size) throw new Error(`${url} answered ${r.status} with ${r.bytes} bytes`)
        // The save after the body is part of the pull.
        await untilHit(url)
      }) })
    } finally {
      await setup.stop()
    }
  }
  ctx.log(`cold pull: ${results.at(-1)?.peak} bytes peak`)

  // Serving a published file.
  {
    const dataDir = path.join(ctx.tmp, 'serve')
    await withPulp(dataDir, async ({ pulp }) => {
      await publishFiles(pulp, 'mem', [
        { relativePath: 'big.bin', file: Readable.from(bodyChunks(size, 'mem-serve')) },
        { relativePath: 'small.bin', file: Buffer.from('warm\n') }
      ], 'mem')
    })
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    try {
      const base = `http://127.0.0.1:${server.ready.port}/pulp/content/mem`
      await timedRequest(`${base}/small.bin`)
      results.push({ name: 'serving', ...await window(server, async () => {
        const r = await timedRequest(`${base}/big.bin`)
        if (r.status !== 200 || r.bytes !== size) throw new Error(`big.bin answered ${r.status} with ${r.bytes} bytes`)
      }) })
    } finally {
      await server.stop()
    }
  }
  ctx.log(`serving: ${results.at(-1)?.peak} bytes peak`)

  return results.map((r): Line => absoluteLine({
    measure: 7,
    title: TITLE,
    case: `${r.name}, ${label}`,
    unit: 'MB',
    ours: r.peak / MB,
    // No peer: the target is absolute. The same server's idle RSS shows what the stream added.
    peer: null,
    peerLabel: `idle: ${formatValue(r.idle / MB, 'MB')}`,
    ...(r.method === 'VmHWM' ? {} : { note: 'sampled every 10 ms' })
  }, { op: '<=', value: LIMIT_MB, unit: 'MB' }))
})
