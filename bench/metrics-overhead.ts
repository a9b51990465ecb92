/**
 * 9. Metrics on vs off: the same build, the same data directory, served by two processes, one
 * with `metrics: false`; the static tree and a warm pull-through HIT, runs alternated.
 */
import path from 'node:path'
import { bodyBytes, formatBytes, KiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { compareLoad, loadLines, type LoadCase } from './lib/compare-load'
import { mirror, publishFiles, withPulp } from './lib/fixtures'
import { timedRequest, untilHit } from './lib/http'
import { runMeasure, type MeasureContext } from './lib/measure'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'metrics on vs off'
const CONNECTIONS = 10

runMeasure(9, TITLE, async (ctx: MeasureContext) => {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const body = bodyBytes(KiB, 'metrics')
  const children: Array<Child<unknown>> = []
  try {
    const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
    children.push(upstream)
    await withPulp(dataDir, async ({ pulp }) => {
      await publishFiles(pulp, 'bench', [{ relativePath: 'm/static.bin', file: body }], 'published')
      await mirror(pulp, 'up', `http://127.0.0.1:${upstream.ready.port}/bytes/`, 'mirror')
    })
    const on = await startChild<{ port: number }>('servers/pulp.ts', { dataDir, options: { runner: false } } satisfies PulpServerArgs, ctx.server())
    children.push(on)
    const off = await startChild<{ port: number }>('servers/pulp.ts', { dataDir, options: { runner: false, metrics: false } } satisfies PulpServerArgs, ctx.server())
    children.push(off)
    const url = (server: Child<{ port: number }>, p: string): string => `http://127.0.0.1:${server.ready.port}/pulp/content/${p}`
    const pulled = `mirror/${KiB}/hit-${KiB}`
    const miss = await timedRequest(url(on, pulled), { keep: true })
    if (miss.status !== 200) throw new Error(`the pull of ${pulled} answered ${miss.status}`)
    await untilHit(url(on, pulled))
    await untilHit(url(off, pulled))
    await upstream.stop()
    children.splice(children.indexOf(upstream), 1)
    const metrics = await timedRequest(`http://127.0.0.1:${on.ready.port}/pulp/api/v1/metrics`, { keep: true })
    if (metrics.status !== 200) throw new Error(`/metrics answered ${metrics.status}`)
    const cases: LoadCase[] = [
      { name: `static tree ${formatBytes(KiB)}, ${CONNECTIONS} conns`, ours: url(on, 'published/m/static.bin'), peer: url(off, 'published/m/static.bin'), connections: CONNECTIONS, servers: { ours: on, peer: off } },
      { name: `pull-through HIT ${formatBytes(KiB)}, ${CONNECTIONS} conns`, ours: url(on, pulled), peer: url(off, pulled), connections: CONNECTIONS, servers: { ours: on, peer: off } }
    ]
    const load = await startChild('lib/load-worker.ts', {}, ctx.client())
    children.push(load)
    return loadLines(9, TITLE, await compareLoad(ctx, load, cases), { op: '>=', value: 0.97 }, 'peer: the same build with metrics: false')
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
})
