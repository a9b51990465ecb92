/**
 * 14. Large files delegated to nginx: one warm 256 MiB published file fetched (curl) through
 * nginx in front of pulp-middleware with `accel` (the middleware answers the headers and an
 * X-Accel-Redirect, nginx sends the bytes with sendfile) versus nginx serving the same file
 * straight from `publish/` with `alias`; and a warm 256 MiB pull-through HIT through the same
 * pair versus a HIT of nginx's own `proxy_cache` on the same upstream. The internal location
 * is the one docs/serving-with-nginx.md gives.
 */
import http from 'node:http'
import path from 'node:path'
import { Readable } from 'node:stream'
import { bodyChunks, formatBytes, MiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { mirror, publishFiles, withPulp } from './lib/fixtures'
import { curlTimed, timedRequest, untilHit, type TimedResponse } from './lib/http'
import { bySize, roundsOf, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { benchNginx, proxyCacheLocation, proxyCachePath, type NginxServer } from './lib/nginx'
import { median, ratioLine, spread, type Line } from './lib/report'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'large files: nginx + us with accel vs nginx alone'
const PREFIX = '/_pulp_files/'

runMeasure(14, TITLE, async (ctx: MeasureContext) => {
  const size = bySize(ctx, { full: 256 * MiB, quick: 256 * MiB, smoke: 4 * MiB })
  const repeats = Math.max(3, roundsOf(ctx, 7))
  const dataDir = path.join(ctx.tmp, 'pulp')
  const children: Array<Child<unknown>> = []
  let nginx: NginxServer | null = null
  try {
    const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
    children.push(upstream)
    ctx.log(`publishing a ${formatBytes(size)} file; adding a remote and a distribution`)
    await withPulp(dataDir, async ({ pulp }) => {
      await publishFiles(pulp, 'big', [{ relativePath: 'big.iso', file: Readable.from(bodyChunks(size, 'accel')) }], 'big')
      await mirror(pulp, 'up', `http://127.0.0.1:${upstream.ready.port}/bytes/`, 'mirror')
    })
    const accel = { header: 'X-Accel-Redirect', prefix: PREFIX } as const
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir, options: { accel } } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    nginx = await benchNginx(ctx, 'accel', `${proxyCachePath(ctx.tmp)}
    server {
      listen 127.0.0.1:{port};
      sendfile on;
      tcp_nopush on;
      location /pulp/ { proxy_pass http://127.0.0.1:${server.ready.port}; }
      location ${PREFIX} {
        internal;
        alias ${dataDir}/;
        disable_symlinks on from=$document_root;
        etag off;
        add_header ETag $upstream_http_etag;
        add_header X-Pulp-Cache $upstream_http_x_pulp_cache;
      }
      location /direct/ { alias ${dataDir}/publish/http/; }
      ${proxyCacheLocation(upstream.ready.port, '/bytes/')}
    }`)
    if (nginx === null) return [{ measure: 14, title: TITLE, case: 'not run', unit: '', ours: Number.NaN, peer: null, ratio: null, target: null, pass: null, note: 'nginx is not installed' }]
    const origin = nginx.origin
    const fetchOnce = async (url: string): Promise<TimedResponse> => {
      const r = await curlTimed(url) ?? await timedRequest(url)
      if (r.status !== 200 || r.bytes !== size) throw new Error(`${url} answered ${r.status} with ${r.bytes} of ${size} bytes`)
      return r
    }
    const cases = [
      { name: `${formatBytes(size)} warm published file`, peerLabel: 'nginx alone', target: 0.9, ours: `${origin}/pulp/content/big/big.iso`, peer: `${origin}/direct/big/big.iso` },
      { name: `${formatBytes(size)} warm pull-through HIT`, peerLabel: 'nginx proxy_cache HIT', target: null, ours: `${origin}/pulp/content/mirror/${size}/hit.bin`, peer: `${origin}/bytes/${size}/hit.bin` }
    ]
    // Warm: pulled once (MISS, then saved), in nginx's cache, in the page cache, every path taken.
    await fetchOnce(cases[1].ours)
    await untilHit(`http://127.0.0.1:${server.ready.port}/pulp/content/mirror/${size}/hit.bin`)
    for (const c of cases) {
      await fetchOnce(c.ours)
      await fetchOnce(c.peer)
      if (await redirectOf(c.ours.replace(origin, `http://127.0.0.1:${server.ready.port}`)) === undefined) throw new Error(`the middleware did not delegate ${c.ours}`)
    }
    if ((await fetchOnce(cases[1].peer)).headers['x-cache-status'] !== 'HIT') throw new Error('nginx did not cache the pulled file')
    const lines: Line[] = []
    for (const c of cases) {
      const runs = { ours: [] as TimedResponse[], peer: [] as TimedResponse[] }
      for (let i = 0; i < repeats; i++) {
        for (const side of i % 2 === 0 ? ['ours', 'peer'] as const : ['peer', 'ours'] as const) {
          const r = await fetchOnce(c[side])
          runs[side].push(r)
          ctx.log(`${c.name}, ${side} #${i + 1}: TTFB ${r.ttfbMs.toFixed(2)} ms, ${(size / MiB / (r.totalMs / 1000)).toFixed(0)} MiB/s`)
        }
      }
      const mibPerS = (r: { totalMs: number }): number => size / MiB / (r.totalMs / 1000)
      const rate = { ours: runs.ours.map(mibPerS), peer: runs.peer.map(mibPerS) }
      const ttfb = { ours: runs.ours.map((r) => r.ttfbMs), peer: runs.peer.map((r) => r.ttfbMs) }
      const label = `${c.name}${size === 256 * MiB ? '' : smallerNote(ctx, '256 MiB')}`
      lines.push(
        ratioLine({ measure: 14, title: TITLE, case: `${label}, throughput`, unit: 'MiB/s', ours: median(rate.ours), peer: median(rate.peer), peerLabel: c.peerLabel, samples: rate, note: `curl; median of ${repeats}; spread ${spread(rate.ours).toFixed(0)}%/${spread(rate.peer).toFixed(0)}%` }, c.target === null ? null : { op: '>=', value: c.target }),
        ratioLine({ measure: 14, title: TITLE, case: `${label}, time to first byte`, unit: 'ms', ours: median(ttfb.ours), peer: median(ttfb.peer), peerLabel: c.peerLabel, samples: ttfb }, null)
      )
    }
    return lines
  } finally {
    for (const c of children.reverse()) await c.stop()
    await nginx?.stop()
  }
})

/** The X-Accel-Redirect the middleware answers for `url` (its announced body never comes). */
async function redirectOf (url: string): Promise<string | undefined> {
  return await new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.destroy()
      resolve(res.headers['x-accel-redirect'] as string | undefined)
    }).once('error', reject)
  })
}
