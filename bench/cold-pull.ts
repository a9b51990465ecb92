/**
 * 3. Cold pull vs direct upstream: time to first byte and throughput of one large file
 * fetched through a distribution that has never seen it (MISS: fetched, streamed to the
 * client, written to tmp/ and hashed, then saved) versus fetched straight from the upstream.
 */
import { formatBytes, MiB } from './lib/bytes'
import { timedRequest, untilHit, type TimedResponse } from './lib/http'
import { bySize, roundsOf, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { startPullSetup } from './lib/pull-setup'
import { median, ratioLine, spread, type Line } from './lib/report'

const TITLE = 'cold pull vs direct upstream'

function expectWhole (r: TimedResponse, size: number, url: string): void {
  if (r.status !== 200 || r.bytes !== size) throw new Error(`${url} answered ${r.status} with ${r.bytes} of ${size} bytes`)
}

runMeasure(3, TITLE, async (ctx: MeasureContext) => {
  const size = bySize(ctx, { full: 256 * MiB, quick: 64 * MiB, smoke: MiB })
  // At least a pair, whatever --rounds says: each side goes first once.
  const repeats = Math.max(2, roundsOf(ctx, 4))
  const setup = await startPullSetup(ctx)
  const direct: TimedResponse[] = []
  const pulled: TimedResponse[] = []
  try {
    // Unmeasured pairs first: connections, JIT and the first distribution lookup warm up.
    const warmSize = bySize(ctx, { full: 32 * MiB, quick: 32 * MiB, smoke: MiB })
    for (let i = 0; i < 2; i++) {
      expectWhole(await timedRequest(setup.direct(warmSize, `warm-direct-${i}`)), warmSize, 'warm-up')
      const warm = setup.pulled(warmSize, `warm-pulled-${i}`)
      expectWhole(await timedRequest(warm), warmSize, warm)
      await untilHit(warm)
    }
    for (let i = 0; i < repeats; i++) {
      for (const side of i % 2 === 0 ? ['direct', 'pulled'] as const : ['pulled', 'direct'] as const) {
        const url = side === 'direct' ? setup.direct(size, `direct-${i}`) : setup.pulled(size, `pulled-${i}`)
        const cpu0 = side === 'pulled' ? await setup.server.rpc.call<NodeJS.CpuUsage>('cpu') : undefined
        const r = await timedRequest(url)
        expectWhole(r, size, url)
        if (cpu0 !== undefined) {
          const cpu1 = await setup.server.rpc.call<NodeJS.CpuUsage>('cpu')
          ctx.log(`pulp server CPU ${((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 / (size / MiB)).toFixed(2)} ms per MiB`)
        }
        if (side === 'pulled') {
          if (r.headers['x-pulp-cache'] !== 'MISS') throw new Error(`${url} was not a MISS`)
          // The save (link and rows) finishes after the body; the next fetch starts after it.
          await untilHit(url)
          pulled.push(r)
        } else {
          direct.push(r)
        }
        ctx.log(`${side} #${i + 1}: TTFB ${r.ttfbMs.toFixed(2)} ms, ${(size / MiB / (r.totalMs / 1000)).toFixed(0)} MiB/s`)
      }
    }
  } finally {
    await setup.stop()
  }
  const ttfb = { ours: pulled.map((r) => r.ttfbMs), peer: direct.map((r) => r.ttfbMs) }
  const rate = { ours: pulled.map((r) => size / MiB / (r.totalMs / 1000)), peer: direct.map((r) => size / MiB / (r.totalMs / 1000)) }
  const label = `${formatBytes(size)}${smallerNote(ctx, '256 MiB')}`
  const lines: Line[] = [
    ratioLine({ measure: 3, title: TITLE, case: `${label}, time to first byte`, unit: 'ms', ours: median(ttfb.ours), peer: median(ttfb.peer), samples: ttfb, note: `+${(median(ttfb.ours) - median(ttfb.peer)).toFixed(1)} ms; median of ${repeats}` }, { op: '<=', value: 1.2 }),
    ratioLine({ measure: 3, title: TITLE, case: `${label}, throughput`, unit: 'MiB/s', ours: median(rate.ours), peer: median(rate.peer), samples: rate, note: `spread ${spread(rate.ours).toFixed(0)}%/${spread(rate.peer).toFixed(0)}%` }, { op: '>=', value: 0.8 })
  ]
  return lines
})
