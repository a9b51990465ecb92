/**
 * 4. Coalescing: 100 concurrent cold requests for one path through pulp. The upstream counts
 * its fetches of that path (target: 1); the time until every client has the whole body is
 * compared with one single cold fetch of a file of the same size. nginx's `proxy_cache` with
 * `proxy_cache_lock` in front of the same upstream gets the same 100 clients on another path.
 */
import { formatBytes, MiB } from './lib/bytes'
import { timedRequest, untilHit, type TimedResponse } from './lib/http'
import { bySize, roundsOf, runMeasure, type MeasureContext } from './lib/measure'
import { benchNginx, proxyCacheConfig, type NginxServer } from './lib/nginx'
import { startPullSetup } from './lib/pull-setup'
import { absoluteLine, median, pairedRatio, ratioLine, type Line } from './lib/report'

const TITLE = 'coalescing'
const CLIENTS = 100

runMeasure(4, TITLE, async (ctx: MeasureContext) => {
  const size = bySize(ctx, { full: 16 * MiB, quick: 4 * MiB, smoke: 64 * 1024 })
  const setup = await startPullSetup(ctx)
  const single: number[] = []
  const together: number[] = []
  const fetches: number[] = []
  const nginxTogether: number[] = []
  const nginxFetches: number[] = []
  let nginx: NginxServer | null = null
  try {
    nginx = await benchNginx(ctx, 'proxy-cache', proxyCacheConfig(ctx.tmp, setup.upstream.ready.port, '/bytes/'))
    const warm = setup.pulled(size, 'warm')
    await timedRequest(warm)
    await untilHit(warm)
    for (let round = 0; round < roundsOf(ctx, 3); round++) {
      const one = setup.pulled(size, `single-${round}`)
      const r = await timedRequest(one)
      if (r.status !== 200 || r.bytes !== size) throw new Error(`${one} answered ${r.status} with ${r.bytes} bytes`)
      await untilHit(one)
      single.push(r.totalMs)

      const name = `shared-${round}`
      const url = setup.pulled(size, name)
      const elapsed = await allAtOnce(url, size)
      await untilHit(url)
      together.push(elapsed)
      fetches.push(await setup.upstream.rpc.call<number>('count', { path: setup.upstreamPath(size, name) }))
      ctx.log(`round ${round + 1}: single ${r.totalMs.toFixed(0)} ms; ${CLIENTS} together ${elapsed.toFixed(0)} ms, ${fetches[fetches.length - 1]} upstream fetch(es)`)
      if (nginx !== null) {
        const theirs = `nginx-shared-${round}`
        nginxTogether.push(await allAtOnce(`${nginx.origin}/bytes/${size}/${theirs}`, size))
        nginxFetches.push(await setup.upstream.rpc.call<number>('count', { path: setup.upstreamPath(size, theirs) }))
        ctx.log(`round ${round + 1}: nginx ${CLIENTS} together ${nginxTogether[nginxTogether.length - 1].toFixed(0)} ms, ${nginxFetches[nginxFetches.length - 1]} upstream fetch(es)`)
      }
    }
  } finally {
    await nginx?.stop()
    await setup.stop()
  }
  const label = `${CLIENTS} clients, ${formatBytes(size)}`
  const lines: Line[] = [
    absoluteLine({ measure: 4, title: TITLE, case: `${label}, upstream fetches`, unit: '', ours: Math.max(...fetches), peer: null, peerLabel: `${CLIENTS} without coalescing`, samples: { ours: fetches, peer: [] }, nginx: nginx === null ? null : Math.max(...nginxFetches), nginxRatio: null }, { op: '=', value: 1, unit: '' }),
    ratioLine({
      measure: 4,
      title: TITLE,
      case: `${label}, time for all vs one single cold fetch`,
      unit: 'ms',
      ours: median(together),
      peer: median(single),
      samples: { ours: together, peer: single },
      note: `${(CLIENTS * size / MiB / (median(together) / 1000)).toFixed(0)} MiB/s to clients in all`,
      nginx: nginx === null ? null : median(nginxTogether),
      nginxRatio: nginx === null ? null : pairedRatio(together, nginxTogether)
    }, null)
  ]
  return lines
})

/** `CLIENTS` GETs of `url` at once; the time until the last has the whole body. */
async function allAtOnce (url: string, size: number): Promise<number> {
  const t0 = performance.now()
  const all = await Promise.all(Array.from({ length: CLIENTS }, async () => await timedRequest(url)))
  const elapsed = performance.now() - t0
  const short = all.filter((x: TimedResponse) => x.status !== 200 || x.bytes !== size)
  if (short.length > 0) throw new Error(`${short.length} of ${CLIENTS} clients of ${url} did not get the whole body (first: ${short[0].status}, ${short[0].bytes} bytes)`)
  return elapsed
}
