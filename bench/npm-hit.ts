/**
 * 13. npm remote warm hits: a tarball through an `npm` remote (its path bound by a rewritten
 * packument, its sha512 checked once when pulled) against the same bytes through a plain `file`
 * remote; and the rewritten packument (cached per representation and origin, never rewritten
 * per request) against a published static file of the same size.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { bodyBytes, formatBytes, KiB } from './lib/bytes'
import { startChild, type Child } from './lib/child'
import { compareLoad, loadLines, type LoadCase } from './lib/compare-load'
import { mirror, publishFiles, withPulp } from './lib/fixtures'
import { timedRequest, untilHit } from './lib/http'
import { runMeasure, type MeasureContext } from './lib/measure'
import type { PulpServerArgs } from './servers/pulp'

const TITLE = 'npm remote warm hits'
const SIZE = 64 * KiB
/** Versions in the packument: a document of a few KiB, as a small package's is. */
const VERSIONS = 40
const CONNECTIONS = 10
const NAME = 'bench-pkg'

/** A registry whose one full packument lists tarballs on the upstream host, with their sha512. */
async function startRegistry (filesUrl: string): Promise<{ url: string, close: () => Promise<void> }> {
  const versions = Object.fromEntries(Array.from({ length: VERSIONS }, (_, i) => {
    const version = `1.${i}.0`
    const file = `${NAME}-${version}.tgz`
    const integrity = `sha512-${createHash('sha512').update(bodyBytes(SIZE, file)).digest('base64')}`
    return [version, { name: NAME, version, dist: { tarball: `${filesUrl}${SIZE}/${file}`, integrity } }]
  }))
  const packument = Buffer.from(JSON.stringify({ name: NAME, 'dist-tags': { latest: `1.${VERSIONS - 1}.0` }, versions }))
  const server = http.createServer((req, res) => {
    if (req.url !== `/registry/${NAME}`) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': packument.length }).end(packument)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/registry/`,
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

runMeasure(13, TITLE, async (ctx: MeasureContext) => {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const tarball = `${NAME}-1.0.0.tgz`
  const children: Array<Child<unknown>> = []
  let registry: { url: string, close: () => Promise<void> } | undefined
  try {
    const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
    children.push(upstream)
    const filesUrl = `http://127.0.0.1:${upstream.ready.port}/bytes/`
    registry = await startRegistry(filesUrl)
    const registryUrl = registry.url
    ctx.log('adding an npm and a file remote; pulling the packument and a tarball through both')
    await withPulp(dataDir, async ({ pulp, url }) => {
      await pulp.remotes.create({ name: 'npmjs', url: registryUrl, remoteTypeId: 'npm', metadataTtl: 86_400 })
      await pulp.distributions.create({ name: 'npm', basePath: 'npm', remote: 'npmjs' })
      await mirror(pulp, 'up', filesUrl, 'mirror')
      // Rewritten for this server's origin: the one below (another port, same length) gets a copy of its own.
      const packument = await timedRequest(`${url}/content/npm/${NAME}`, { keep: true })
      if (packument.status !== 200 || packument.body === undefined) throw new Error(`the packument answered ${packument.status}`)
      await publishFiles(pulp, 'static', [{ relativePath: 'packument.json', file: packument.body }], 'published')
      for (const p of [`npm/${NAME}/-/${tarball}`, `mirror/${SIZE}/${tarball}`]) {
        const r = await timedRequest(`${url}/content/${p}`, { keep: true })
        if (r.status !== 200 || r.body?.equals(bodyBytes(SIZE, tarball)) !== true) throw new Error(`the pull of ${p} answered ${r.status}`)
      }
    })

    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    const base = `http://127.0.0.1:${server.ready.port}/pulp/content`
    const urls = { tarball: `${base}/npm/${NAME}/-/${tarball}`, file: `${base}/mirror/${SIZE}/${tarball}`, packument: `${base}/npm/${NAME}`, static: `${base}/published/packument.json` }
    // This origin's packument is fetched (and rewritten) once, while the registry is up.
    if ((await timedRequest(urls.packument)).status !== 200) throw new Error('the packument for the server\'s origin failed')
    for (const u of [urls.tarball, urls.file, urls.packument]) await untilHit(u)
    await registry.close()
    registry = undefined
    await upstream.stop()
    children.splice(children.indexOf(upstream), 1)
    const packument = await timedRequest(urls.packument, { keep: true })
    const published = await timedRequest(urls.static, { keep: true })
    if (packument.bytes !== published.bytes) ctx.log(`the packument (${packument.bytes} B) and its static peer (${published.bytes} B) differ in size`)

    const load = await startChild('lib/load-worker.ts', {}, ctx.client())
    children.push(load)
    const servers = { ours: server, peer: server }
    const cases: LoadCase[] = [
      { name: `tarball ${formatBytes(SIZE)}, npm vs file remote, ${CONNECTIONS} conns`, ours: urls.tarball, peer: urls.file, connections: CONNECTIONS, servers },
      { name: `packument ${formatBytes(packument.bytes)}, vs static file, ${CONNECTIONS} conns`, ours: urls.packument, peer: urls.static, connections: CONNECTIONS, servers }
    ]
    const [pkg, packuments] = await compareLoad(ctx, load, cases, { warmFirst: true })
    return [
      ...loadLines(13, TITLE, [pkg], { op: '>=', value: 0.95 }),
      ...loadLines(13, TITLE, [packuments], { op: '>=', value: 0.9 })
    ]
  } finally {
    await registry?.close()
    for (const c of children.reverse()) await c.stop()
  }
})
