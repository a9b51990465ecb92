/**
 * 8. Pull-through freshness: a fresh metadata HIT against an immutable HIT of the same size
 * (both from the store; the metadata one also checks its age and sends `Age`), and a
 * revalidation answered 304 (the expired copy, one conditional request upstream, the copy
 * renewed in the database and served) against the same conditional request sent straight to
 * the upstream; and nginx's `proxy_cache` with `proxy_cache_revalidate` doing the same job in
 * front of the same upstream, the ceiling. nginx keeps a copy fresh for whole seconds only, so
 * its samples are fewer, each taken once its copy has expired (two seconds apart). Beside them,
 * the floor for a Node process: a bare proxy revalidating a copy it keeps in memory over a
 * kept-alive connection, with no database (servers/bare-revalidator.ts), taken in turn with
 * ours and the direct request.
 */
import path from 'node:path'
import { bodyBytes, KiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { compareLoad, loadLines, type LoadCase } from './lib/compare-load'
import { withPulp } from './lib/fixtures'
import { timedRequest, untilHit, type TimedResponse } from './lib/http'
import { bySize, runMeasure, type MeasureContext } from './lib/measure'
import { benchNginx, type NginxServer } from './lib/nginx'
import { median, pairedRatio, ratioLine, spread, type Line } from './lib/report'
import type { BareRevalidatorArgs } from './servers/bare-revalidator'
import type { PulpServerArgs } from './servers/pulp'
import type { CreateRemoteInput } from '../lib'

const TITLE = 'pull-through freshness'
const SIZE = KiB
const CONNECTIONS = 10
/** nginx judges a copy expired once the second after its expiry has begun. */
const NGINX_EXPIRY_MS = 2050
/** The pause between rounds while nginx's samples are taken. */
const PACE_MS = 10

/**
 * nginx revalidating every request: each copy is fresh for one second (the bench upstream sends
 * no freshness of its own), then asked for with `If-None-Match`, over kept-alive connections to
 * the upstream as ours are.
 */
function revalidatingConfig (dir: string, upstream: number): string {
  return `proxy_cache_path ${path.join(dir, 'revalidate-cache')} levels=1:2 keys_zone=revalidate:1m use_temp_path=off;
    upstream bench_upstream {
      server 127.0.0.1:${upstream};
      keepalive 8;
    }
    server {
      listen 127.0.0.1:{port};
      location /bytes/ {
        proxy_pass http://bench_upstream;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_cache revalidate;
        proxy_cache_revalidate on;
        proxy_cache_valid 200 1s;
        add_header X-Cache-Status $upstream_cache_status;
      }
    }`
}

function expect (r: TimedResponse, status: number, cache: string | undefined, url: string): void {
  if (r.status !== status || (cache !== undefined && r.headers['x-pulp-cache'] !== cache)) {
    throw new Error(`${url} answered ${r.status} ${String(r.headers['x-pulp-cache'])}, not ${status} ${String(cache)}`)
  }
}

runMeasure(11, TITLE, async (ctx: MeasureContext) => {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const name = 'fresh-1k'
  const body = bodyBytes(SIZE, name)
  const children: Array<Child<unknown>> = []
  let nginx: NginxServer | null = null
  try {
    const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
    children.push(upstream)
    const upstreamUrl = `http://127.0.0.1:${upstream.ready.port}/bytes/`
    nginx = await benchNginx(ctx, 'revalidate', revalidatingConfig(ctx.tmp, upstream.ready.port))
    const bare = await startChild<{ port: number }>('servers/bare-revalidator.ts', { upstream: `http://127.0.0.1:${upstream.ready.port}` } satisfies BareRevalidatorArgs, ctx.server())
    children.push(bare)
    await withPulp(dataDir, async ({ pulp }) => {
      // Three remotes on one upstream: every path immutable, every path fresh metadata, every path always expired.
      const remotes: Array<[string, CreateRemoteInput | object]> = [
        ['imm', {}], ['meta', { metadataPatterns: ['**'], metadataTtl: 86_400 }], ['reval', { metadataPatterns: ['**'], metadataTtl: 0 }]
      ]
      for (const [remote, fields] of remotes) {
        await pulp.remotes.create({ name: remote, url: upstreamUrl, ...fields })
        await pulp.distributions.create({ name: remote, basePath: remote, remote })
      }
    })
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    const base = `http://127.0.0.1:${server.ready.port}/pulp/content`
    const url = (remote: string): string => `${base}/${remote}/${SIZE}/${name}`
    for (const remote of ['imm', 'meta', 'reval']) {
      const miss = await timedRequest(url(remote), { keep: true })
      if (miss.status !== 200 || miss.body?.equals(body) !== true) throw new Error(`the pull of ${url(remote)} answered ${miss.status}`)
    }
    await untilHit(url('imm'))
    await untilHit(url('meta'))
    // Its copy must be saved before a request can revalidate it (until then each one fetches it whole).
    await untilHit(url('reval'), 60_000, 'REVALIDATED')

    // A revalidation, one at a time (latency, not load): ours against the bare conditional request.
    const direct = `${upstreamUrl}${SIZE}/${name}`
    const conditional = { 'if-none-match': `"${SIZE}-${name}"` }
    const rounds = bySize(ctx, { full: 200, quick: 60, smoke: 5 })
    const nginxRounds = nginx === null ? 0 : bySize(ctx, { full: 20, quick: 6, smoke: 1 })
    const cached = `${nginx?.origin ?? ''}/bytes/${SIZE}/${name}`
    const floor = `http://127.0.0.1:${bare.ready.port}/bytes/${SIZE}/${name}`
    expect(await timedRequest(floor, { keep: true }), 200, undefined, floor)
    const ours: number[] = []
    const peer: number[] = []
    const bareNode: number[] = []
    const theirs: number[] = []
    // nginx's copy is stored now; each of its samples waits for it to expire while ours and the
    // direct request go on, one pair every PACE_MS, so all three run equally warm, spread over
    // the same stretch of time (with nginx, more pairs than `rounds` are taken meanwhile).
    let nginxDue = Date.now() + NGINX_EXPIRY_MS
    if (nginx !== null) expect(await timedRequest(cached, { keep: true }), 200, undefined, cached)
    for (let i = 0; ours.length < rounds || theirs.length < nginxRounds; i++) {
      const order = i % 2 === 0 ? ['ours', 'peer', 'bare'] as const : ['bare', 'peer', 'ours'] as const
      for (const side of order) {
        if (side === 'ours') {
          const r = await timedRequest(url('reval'), { keep: true })
          expect(r, 200, 'REVALIDATED', url('reval'))
          // The first rounds warm connections and the JIT.
          if (i >= 10) ours.push(r.totalMs)
        } else if (side === 'peer') {
          const r = await timedRequest(direct, { headers: conditional })
          expect(r, 304, undefined, direct)
          if (i >= 10) peer.push(r.totalMs)
        } else if (ours.length < rounds || i < 10) {
          const r = await timedRequest(floor, { keep: true })
          if (r.status !== 200 || r.headers['x-cache'] !== 'REVALIDATED' || r.body?.equals(body) !== true) {
            throw new Error(`the bare proxy answered ${floor} ${r.status} ${String(r.headers['x-cache'])}, not a revalidated copy`)
          }
          if (i >= 10) bareNode.push(r.totalMs)
        }
      }
      if (i >= 10 && theirs.length < nginxRounds && Date.now() >= nginxDue) {
        const r = await timedRequest(cached, { keep: true })
        if (r.status !== 200 || r.headers['x-cache-status'] !== 'REVALIDATED' || r.body?.equals(body) !== true) {
          throw new Error(`nginx answered ${cached} ${r.status} ${String(r.headers['x-cache-status'])}, not a revalidated copy`)
        }
        theirs.push(r.totalMs)
        nginxDue = Date.now() + NGINX_EXPIRY_MS
      }
      if (nginx !== null) await new Promise((resolve) => setTimeout(resolve, PACE_MS))
    }
    const revalidation: Line = ratioLine({
      measure: 11,
      title: TITLE,
      case: '1 KiB revalidated (304) vs direct conditional request, time',
      unit: 'ms',
      ours: median(ours),
      peer: median(peer),
      samples: { ours, peer },
      note: `median of ${ours.length}; spread ${spread(ours).toFixed(0)}%/${spread(peer).toFixed(0)}%${nginx === null ? '' : `; nginx: median of ${theirs.length}`}; ours/bare Node proxy ${(pairedRatio(ours.slice(0, bareNode.length), bareNode) ?? Number.NaN).toFixed(2)}x`,
      ...(nginx === null ? {} : { nginx: median(theirs), nginxRatio: pairedRatio(ours, theirs) })
    }, { op: '<=', value: 1.5 })
    // What a Node process with no database, lease or routing needs for the same revalidation.
    const floorLine: Line = ratioLine({
      measure: 11,
      title: TITLE,
      case: '1 KiB revalidated (304) by a bare Node proxy (copy in memory, no database) vs direct conditional request, time',
      unit: 'ms',
      ours: median(bareNode),
      peer: median(peer.slice(0, bareNode.length)),
      samples: { ours: bareNode, peer: peer.slice(0, bareNode.length) },
      note: `the floor of the line above; median of ${bareNode.length}; spread ${spread(bareNode).toFixed(0)}%`
    }, null)

    await upstream.stop()
    children.splice(children.indexOf(upstream), 1)
    const load = await startChild('lib/load-worker.ts', {}, ctx.client())
    children.push(load)
    const cases: LoadCase[] = [{ name: `1 KiB fresh metadata HIT vs immutable HIT, ${CONNECTIONS} conns`, ours: url('meta'), peer: url('imm'), connections: CONNECTIONS, servers: { ours: server, peer: server } }]
    return [...loadLines(11, TITLE, await compareLoad(ctx, load, cases, { warmFirst: true }), { op: '>=', value: 0.95 }), revalidation, floorLine]
  } finally {
    for (const c of children.reverse()) await c.stop()
    await nginx?.stop()
  }
})
