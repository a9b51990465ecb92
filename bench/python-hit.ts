/**
 * 12. Python remote warm hits: a package through a `python` remote (its path bound by a
 * rewritten project page, its digest checked once when pulled) against the same bytes through
 * a plain `file` remote; and the rewritten project page (cached rewritten, never rewritten per
 * request) against a published static file of the same bytes.
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

const TITLE = 'python remote warm hits'
const SIZE = 64 * KiB
/** Files on the project page: a page of a few KiB, as a small project's is. */
const FILES = 40
const CONNECTIONS = 10

/** A PEP 503 index host whose one project page links to the files on the upstream host. */
async function startIndex (filesUrl: string): Promise<{ url: string, close: () => Promise<void> }> {
  const links = Array.from({ length: FILES }, (_, i) => {
    const name = `bench_pkg-1.${i}-py3-none-any.whl`
    const sha = createHash('sha256').update(bodyBytes(SIZE, name)).digest('hex')
    return `<a href="${filesUrl}${SIZE}/${name}#sha256=${sha}" data-requires-python="&gt;=3.8">${name}</a><br/>`
  })
  const page = Buffer.from(`<!DOCTYPE html>\n<html><body>\n${links.join('\n')}\n</body></html>\n`)
  const server = http.createServer((req, res) => {
    if (req.url !== '/simple/bench-pkg/') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': page.length }).end(page)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple/`,
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

runMeasure(12, TITLE, async (ctx: MeasureContext) => {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const wheel = 'bench_pkg-1.0-py3-none-any.whl'
  const children: Array<Child<unknown>> = []
  try {
    const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
    children.push(upstream)
    const filesUrl = `http://127.0.0.1:${upstream.ready.port}/bytes/`
    const index = await startIndex(filesUrl)
    ctx.log('adding a python and a file remote; pulling the page and a package through both')
    await withPulp(dataDir, async ({ pulp, url }) => {
      await pulp.remotes.create({ name: 'pypi', url: index.url, remoteTypeId: 'python', metadataTtl: 86_400 })
      await pulp.distributions.create({ name: 'pypi', basePath: 'pypi', remote: 'pypi' })
      await mirror(pulp, 'up', filesUrl, 'mirror')
      const page = await timedRequest(`${url}/content/pypi/bench-pkg/`, { keep: true })
      if (page.status !== 200 || page.body === undefined) throw new Error(`the project page answered ${page.status}`)
      await publishFiles(pulp, 'static', [{ relativePath: 'page.html', file: page.body }], 'published')
      for (const p of [`pypi/bench-pkg/${wheel}`, `mirror/${SIZE}/${wheel}`]) {
        const r = await timedRequest(`${url}/content/${p}`, { keep: true })
        if (r.status !== 200 || r.body?.equals(bodyBytes(SIZE, wheel)) !== true) throw new Error(`the pull of ${p} answered ${r.status}`)
      }
    })
    await index.close()
    await upstream.stop()
    children.splice(children.indexOf(upstream), 1)

    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    children.push(server)
    const base = `http://127.0.0.1:${server.ready.port}/pulp/content`
    const urls = { pkg: `${base}/pypi/bench-pkg/${wheel}`, file: `${base}/mirror/${SIZE}/${wheel}`, page: `${base}/pypi/bench-pkg/`, static: `${base}/published/page.html` }
    for (const u of [urls.pkg, urls.file, urls.page]) await untilHit(u)
    const page = await timedRequest(urls.page, { keep: true })
    const published = await timedRequest(urls.static, { keep: true })
    if (page.body?.equals(published.body ?? Buffer.alloc(0)) !== true) throw new Error('the page and its static copy differ')

    const load = await startChild('lib/load-worker.ts', {}, ctx.client())
    children.push(load)
    const servers = { ours: server, peer: server }
    const cases: LoadCase[] = [
      { name: `package ${formatBytes(SIZE)}, python vs file remote, ${CONNECTIONS} conns`, ours: urls.pkg, peer: urls.file, connections: CONNECTIONS, servers },
      { name: `index page ${formatBytes(page.bytes)}, vs static file, ${CONNECTIONS} conns`, ours: urls.page, peer: urls.static, connections: CONNECTIONS, servers }
    ]
    const [pkg, pages] = await compareLoad(ctx, load, cases, { warmFirst: true })
    return [
      ...loadLines(12, TITLE, [pkg], { op: '>=', value: 0.95 }),
      ...loadLines(12, TITLE, [pages], { op: '>=', value: 0.9 })
    ]
  } finally {
    for (const c of children.reverse()) await c.stop()
  }
})
