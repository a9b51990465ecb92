/**
 * 2. Pull-through warm hit vs static tree: one file, pulled once through a distribution
 * (then a HIT from the local store) and published by the `web` distributor (the same
 * artifact, deduplicated), served by the same pulp-middleware process; and nginx's
 * `proxy_cache` in front of the same upstream, warmed the same way, the ceiling. Also the
 * 1 KiB HIT through a distribution with `cache_max_bytes` (set far above what is cached:
 * nothing is evicted, every HIT records its served time) against the same HIT without a limit.
 */
import path from 'node:path'
import { bodyBytes, formatBytes, KiB, MiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { compareLoad, loadLines, type LoadCase } from './lib/compare-load'
import { mirror, publishFiles, withPulp } from './lib/fixtures'
import { timedRequest, untilHit } from './lib/http'
import { runMeasure, type MeasureContext } from './lib/measure'
import { benchNginx, proxyCacheConfig, type NginxServer } from './lib/nginx'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'pull-through warm hit vs static tree'
const SIZES = [KiB, MiB]
const CONNECTIONS = 10

runMeasure(2, TITLE, async (ctx: MeasureContext) => {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const files = SIZES.map((size) => ({ size, name: `hit-${size}`, body: bodyBytes(size, `hit-${size}`) }))
  const children: Array<Child<unknown>> = []
  let nginx: NginxServer | null = null
  try {
    const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
    children.push(upstream)
    nginx = await benchNginx(ctx, 'proxy-cache', proxyCacheConfig(ctx.tmp, upstream.ready.port, '/bytes/'))
    ctx.log('publishing the files; adding a remote and a distribution')
    await withPulp(dataDir, async ({ pulp }) => {
      await publishFiles(pulp, 'bench', files.map((f) => ({ relativePath: `${f.size}/${f.name}`, file: f.body })), 'published')
      await mirror(pulp, 'up', `http://127.0.0.1:${upstream.ready.port}/bytes/`, 'mirror')
      await pulp.distributions.create({ name: 'capped', basePath: 'capped', remote: 'up', cacheMaxBytes: 1024 * MiB })
    })
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    const base = `http://127.0.0.1:${server.ready.port}/pulp/content`
    const cases: LoadCase[] = []
    for (const f of files) {
      const pulled = `${base}/mirror/${f.size}/${f.name}`
      const published = `${base}/published/${f.size}/${f.name}`
      const miss = await timedRequest(pulled, { keep: true })
      if (miss.status !== 200 || miss.body?.equals(f.body) !== true) throw new Error(`the pull of ${pulled} answered ${miss.status}`)
      await untilHit(pulled)
      const hit = await timedRequest(pulled, { keep: true })
      const pub = await timedRequest(published, { keep: true })
      if (hit.body?.equals(f.body) !== true || pub.body?.equals(f.body) !== true || hit.headers.etag !== pub.headers.etag) {
        throw new Error('the pulled and the published file differ')
      }
      const cached = `${nginx?.origin ?? ''}/bytes/${f.size}/${f.name}`
      if (nginx !== null) await warmProxyCache(cached, f.body)
      cases.push({
        name: `${formatBytes(f.size)}, ${CONNECTIONS} conns`,
        ours: pulled,
        peer: published,
        connections: CONNECTIONS,
        servers: { ours: server, peer: server },
        nginx: nginx === null ? null : { url: cached, cpu: nginx.cpu }
      })
    }
    // The same remote path through the distribution with a limit: a HIT at once.
    const small = files[0]
    const capped = `${base}/capped/${small.size}/${small.name}`
    await untilHit(capped)
    cases.push({
      name: `${formatBytes(small.size)} with cache_max_bytes vs without, ${CONNECTIONS} conns`,
      ours: capped,
      peer: `${base}/mirror/${small.size}/${small.name}`,
      connections: CONNECTIONS,
      servers: { ours: server, peer: server }
    })
    await upstream.stop()
    children.splice(children.indexOf(upstream), 1)
    const load = await startChild('lib/load-worker.ts', {}, ctx.client())
    children.push(load)
    return loadLines(2, TITLE, await compareLoad(ctx, load, cases), { op: '>=', value: 0.95 })
  } finally {
    for (const c of children.reverse()) await c.stop()
    await nginx?.stop()
  }
})

/** Pulls `url` through nginx's cache until it answers a HIT with these bytes. */
async function warmProxyCache (url: string, body: Buffer): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await timedRequest(url, { keep: true })
    if (r.status !== 200 || r.body?.equals(body) !== true) throw new Error(`${url} answered ${r.status} with other bytes`)
    if (r.headers['x-cache-status'] === 'HIT') return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${url} never became a HIT in nginx's cache`)
}
