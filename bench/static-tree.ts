/**
 * 1. Static tree vs express.static: the same files (1 KiB, 1 MiB) published by the `web`
 * distributor (a tree of symlinks into the artifact store, served by pulp-middleware) and
 * copied into a plain directory served by `express.static`, each in its own Express app; and
 * the same plain directory served by nginx (`alias`, sendfile), the ceiling. Then the 1 KiB file
 * from a second server on the same data directory that answers content before Express
 * (`pulp.attach(server)`), and, printed, `node:http` alone (bare-node.ts: the bytes in memory,
 * no Express, nothing looked up) against that: the most one Node process can do here, so the
 * gap between us and nginx splits into what Node costs, what Express costs and what we add.
 */
import path from 'node:path'
import { mkdir, writeFile } from 'node:fs/promises'
import { bodyBytes, formatBytes, KiB, MiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { compareLoad, loadLines, type LoadCase } from './lib/compare-load'
import { publishFiles, withPulp } from './lib/fixtures'
import { timedRequest } from './lib/http'
import { runMeasure, type MeasureContext } from './lib/measure'
import { benchNginx, type NginxServer } from './lib/nginx'
import type { PulpServerArgs } from './servers/pulp'
import type { BareNodeServerArgs } from './servers/bare-node'
import type { StaticServerArgs } from './servers/static'

const TITLE = 'static tree vs express.static'
const SIZES = [KiB, MiB]
const CONNECTIONS = [10, 100]

/** Checks that a URL answers 200 with exactly these bytes, so the load measures the right thing. */
export async function expectBody (url: string, body: Buffer): Promise<void> {
  const r = await timedRequest(url, { keep: true })
  if (r.status !== 200 || r.body?.equals(body) !== true) throw new Error(`${url} answered ${r.status} with ${r.bytes} bytes, not the ${body.length} expected`)
}

runMeasure(1, TITLE, async (ctx: MeasureContext) => {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const plain = path.join(ctx.tmp, 'plain')
  const files = SIZES.map((size) => ({ name: `f-${size}.bin`, body: bodyBytes(size, `static-${size}`) }))
  ctx.log('publishing the files and copying them')
  await withPulp(dataDir, async ({ pulp }) => {
    await publishFiles(pulp, 'bench', files.map((f) => ({ relativePath: `files/${f.name}`, file: f.body })), 'bench')
  })
  await mkdir(path.join(plain, 'bench', 'files'), { recursive: true })
  for (const f of files) await writeFile(path.join(plain, 'bench', 'files', f.name), f.body)

  const children: Array<Child<unknown>> = []
  let nginx: NginxServer | null = null
  try {
    nginx = await benchNginx(ctx, 'static', `server {
      listen 127.0.0.1:{port};
      sendfile on;
      tcp_nopush on;
      location /static/ { alias ${plain}/; }
    }`)
    const ours = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    children.push(ours)
    const peer = await startChild<{ port: number }>('servers/static.ts', { root: plain, mount: '/static' } satisfies StaticServerArgs, ctx.server())
    children.push(peer)
    const load = await startChild('lib/load-worker.ts', {}, ctx.client())
    children.push(load)
    const oursUrl = (f: { name: string }): string => `http://127.0.0.1:${ours.ready.port}/pulp/content/bench/files/${f.name}`
    const peerUrl = (f: { name: string }): string => `http://127.0.0.1:${peer.ready.port}/static/bench/files/${f.name}`
    const nginxUrl = (f: { name: string }): string => `${nginx?.origin ?? ''}/static/bench/files/${f.name}`
    const nginxSide = (f: { name: string }): LoadCase['nginx'] => nginx === null ? null : { url: nginxUrl(f), cpu: nginx.cpu }
    for (const f of files) {
      await expectBody(oursUrl(f), f.body)
      await expectBody(peerUrl(f), f.body)
      if (nginx !== null) await expectBody(nginxUrl(f), f.body)
    }
    const cases: LoadCase[] = []
    for (const f of files) {
      for (const connections of CONNECTIONS) {
        cases.push({ name: `${formatBytes(f.body.length)}, ${connections} conns`, ours: oursUrl(f), peer: peerUrl(f), connections, servers: { ours, peer }, nginx: nginxSide(f) })
      }
    }
    const small = files[0]
    const attached = await startChild<{ port: number }>('servers/pulp.ts', { dataDir, attach: true } satisfies PulpServerArgs, ctx.server())
    children.push(attached)
    const attachedUrl = `http://127.0.0.1:${attached.ready.port}/pulp/content/bench/files/${small.name}`
    await expectBody(attachedUrl, small.body)
    for (const connections of CONNECTIONS) {
      cases.push({
        name: `${formatBytes(small.body.length)}, ${connections} conns, answered before Express (attach)`,
        ours: attachedUrl, peer: peerUrl(small), connections, servers: { ours: attached, peer }, nginx: nginxSide(small)
      })
    }
    const lines = loadLines(1, TITLE, await compareLoad(ctx, load, cases), { op: '>=', value: 1.1 })
    const bare = await startChild<{ port: number }>('servers/bare-node.ts', { file: path.join(plain, 'bench', 'files', small.name) } satisfies BareNodeServerArgs, ctx.server())
    children.push(bare)
    const bareUrl = `http://127.0.0.1:${bare.ready.port}/static/bench/files/${small.name}`
    await expectBody(bareUrl, small.body)
    const ceiling: LoadCase = {
      name: `${formatBytes(small.body.length)}, 10 conns, node:http alone from memory (one Node process's ceiling) vs ours before Express`,
      ours: bareUrl, peer: attachedUrl, connections: 10, servers: { ours: bare, peer: attached }, nginx: nginxSide(small)
    }
    return [...lines, ...loadLines(1, TITLE, await compareLoad(ctx, load, [ceiling]), null)]
  } finally {
    for (const c of children.reverse()) await c.stop()
    await nginx?.stop()
  }
})
