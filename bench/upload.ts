/**
 * 6. Upload: one large file through the REST API (multipart, streamed by a client in another
 * process) versus the same bytes hashed and written to a file locally.
 */
import path from 'node:path'
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { bodyChunks, formatBytes, GiB, MiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { withPulp } from './lib/fixtures'
import { uploadMultipart } from './lib/http'
import { bySize, roundsOf, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { settleDisk } from './lib/disk'
import { median, ratioLine, spread } from './lib/report'
import type { LocalWriteJob, LocalWriteResult } from './servers/local-write'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'upload vs local write+hash'

function digestOf (size: number, label: string): string {
  const hash = createHash('sha256')
  for (const chunk of bodyChunks(size, label, 'binary')) hash.update(chunk)
  return hash.digest('hex')
}


runMeasure(6, TITLE, async (ctx: MeasureContext) => {
  const size = bySize(ctx, { full: GiB, quick: 256 * MiB, smoke: 4 * MiB })
  const dataDir = path.join(ctx.tmp, 'pulp')
  await withPulp(dataDir, async ({ pulp }) => { await pulp.repositories.create({ id: 'up' }) })
  const children: Array<Child<unknown>> = []
  const ours: number[] = []
  const peer: number[] = []
  try {
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    const local = await startChild('servers/local-write.ts', {}, ctx.server())
    children.push(local)
    const url = `http://127.0.0.1:${server.ready.port}/pulp/api/v1/repositories/up/content`
    // Warm both with a whole-size run: the first large run of either side was up to 2x slower
    // than the next (page cache and allocator growth), whichever side went first.
    const warmSize = size
    const warm = await uploadMultipart(url, warmSize, 'warm', 'warm.bin')
    if (warm.status !== 201) throw new Error(`the warm-up upload answered ${warm.status}: ${warm.body}`)
    const warmUnit = (JSON.parse(warm.body) as { units: Array<{ sha256: string }> }).units[0]
    await rm(path.join(dataDir, 'artifacts', warmUnit.sha256.slice(0, 2), warmUnit.sha256.slice(2)), { force: true })
    await local.rpc.call<LocalWriteResult>('write', { size: warmSize, label: 'warm', file: path.join(ctx.tmp, 'warm.bin') } satisfies LocalWriteJob)
    const repeats = roundsOf(ctx, 3)
    for (let i = 0; i < repeats; i++) {
      const label = `upload-${i}`
      const expected = digestOf(size, label)
      for (const side of i % 2 === 0 ? ['ours', 'peer'] as const : ['peer', 'ours'] as const) {
        settleDisk()
        if (side === 'ours') {
          const cpu0 = await server.rpc.call<NodeJS.CpuUsage>('cpu')
          const r = await uploadMultipart(url, size, label, `big/${label}.bin`)
          const cpu1 = await server.rpc.call<NodeJS.CpuUsage>('cpu')
          ctx.log(`server CPU ${((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000).toFixed(0)} ms for ${formatBytes(size)}`)
          const unit = r.status === 201 ? (JSON.parse(r.body) as { units: Array<{ sha256: string, size: number }> }).units[0] : undefined
          if (unit?.sha256 !== expected || unit.size !== size) throw new Error(`the upload answered ${r.status}: ${r.body.slice(0, 300)}`)
          ours.push(size / MiB / (r.totalMs / 1000))
          // The peer removes its file too: neither side starts with a page cache the other filled.
          await rm(path.join(dataDir, 'artifacts', expected.slice(0, 2), expected.slice(2)), { force: true })
        } else {
          const r = await local.rpc.call<LocalWriteResult>('write', { size, label, file: path.join(ctx.tmp, `${label}.local`) } satisfies LocalWriteJob)
          if (r.sha256 !== expected) throw new Error('the local write hashed other bytes')
          peer.push(size / MiB / (r.ms / 1000))
        }
        ctx.log(`#${i + 1} ${side}: ${(side === 'ours' ? ours : peer).at(-1)?.toFixed(0)} MiB/s`)
      }
    }
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
  return [ratioLine({
    measure: 6,
    title: TITLE,
    case: `${formatBytes(size)}${smallerNote(ctx, '1 GiB')}, throughput`,
    unit: 'MiB/s',
    ours: median(ours),
    peer: median(peer),
    samples: { ours, peer },
    ...(ours.length > 1 ? { note: `spread ${spread(ours).toFixed(0)}%/${spread(peer).toFixed(0)}%` } : {})
  }, { op: '>=', value: 0.8 })]
})
