/**
 * 12. Large files delegated to nginx: one warm 256 MiB published file fetched (curl) through
 * nginx in front of pulp-middleware with `accel` (the middleware answers the headers and an
 * X-Accel-Redirect, nginx sends the bytes with sendfile) versus nginx serving the same file
 * straight from `publish/` with `alias`. The config is the one docs/serving-with-nginx.md gives.
 */
import http from 'node:http'
import path from 'node:path'
import { Readable } from 'node:stream'
import { bodyChunks, formatBytes, MiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { publishFiles, withPulp } from './lib/fixtures'
import { curlTimed, timedRequest, type TimedResponse } from './lib/http'
import { bySize, roundsOf, runMeasure, smallerNote, type MeasureContext } from './lib/measure'
import { benchNginx, type NginxServer } from './lib/nginx'
import { median, ratioLine, spread, type Line } from './lib/report'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'large file: nginx + us with accel vs nginx alone'
const PREFIX = '/_pulp_files/'

runMeasure(12, TITLE, async (ctx: MeasureContext) => {
  const size = bySize(ctx, { full: 256 * MiB, quick: 256 * MiB, smoke: 4 * MiB })
  const repeats = Math.max(3, roundsOf(ctx, 7))
  const dataDir = path.join(ctx.tmp, 'pulp')
  ctx.log(`publishing a ${formatBytes(size)} file`)
  await withPulp(dataDir, async ({ pulp }) => {
    await publishFiles(pulp, 'big', [{ relativePath: 'big.iso', file: Readable.from(bodyChunks(size, 'accel')) }], 'big')
  })
  const children: Array<Child<unknown>> = []
  let nginx: NginxServer | null = null
  try {
    const accel = { header: 'X-Accel-Redirect', prefix: PREFIX } as const
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir, options: { accel } } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    nginx = await benchNginx(ctx, 'accel', `server {
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
      }
      location /direct/ { alias ${dataDir}/publish/http/; }
    }`)
    if (nginx === null) return [{ measure: 12, title: TITLE, case: 'not run', unit: '', ours: Number.NaN, peer: null, ratio: null, target: null, pass: null, note: 'nginx is not installed' }]
    const urls = { ours: `${nginx.origin}/pulp/content/big/big.iso`, peer: `${nginx.origin}/direct/big/big.iso` }
    const fetchOnce = async (url: string): Promise<TimedResponse> => {
      const r = await curlTimed(url) ?? await timedRequest(url)
      if (r.status !== 200 || r.bytes !== size) throw new Error(`${url} answered ${r.status} with ${r.bytes} of ${size} bytes`)
      return r
    }
    // Warm: the file in the page cache, both paths taken once.
    for (const url of [urls.ours, urls.peer]) await fetchOnce(url)
    if (await redirectOf(`http://127.0.0.1:${server.ready.port}/pulp/content/big/big.iso`) === undefined) throw new Error('the middleware did not delegate the file')
    const runs = { ours: [] as TimedResponse[], peer: [] as TimedResponse[] }
    for (let i = 0; i < repeats; i++) {
      for (const side of i % 2 === 0 ? ['ours', 'peer'] as const : ['peer', 'ours'] as const) {
        const r = await fetchOnce(urls[side])
        runs[side].push(r)
        ctx.log(`${side} #${i + 1}: TTFB ${r.ttfbMs.toFixed(2)} ms, ${(size / MiB / (r.totalMs / 1000)).toFixed(0)} MiB/s`)
      }
    }
    const rate = { ours: runs.ours.map((r) => size / MiB / (r.totalMs / 1000)), peer: runs.peer.map((r) => size / MiB / (r.totalMs / 1000)) }
    const ttfb = { ours: runs.ours.map((r) => r.ttfbMs), peer: runs.peer.map((r) => r.ttfbMs) }
    const label = `${formatBytes(size)} warm${size === 256 * MiB ? '' : smallerNote(ctx, '256 MiB')}`
    const lines: Line[] = [
      ratioLine({ measure: 12, title: TITLE, case: `${label}, throughput`, unit: 'MiB/s', ours: median(rate.ours), peer: median(rate.peer), peerLabel: 'nginx alone', samples: rate, note: `curl; median of ${repeats}; spread ${spread(rate.ours).toFixed(0)}%/${spread(rate.peer).toFixed(0)}%` }, { op: '>=', value: 0.9 }),
      ratioLine({ measure: 12, title: TITLE, case: `${label}, time to first byte`, unit: 'ms', ours: median(ttfb.ours), peer: median(ttfb.peer), peerLabel: 'nginx alone', samples: ttfb }, null)
    ]
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
