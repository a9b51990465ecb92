/**
 * Pull-through caching in one process: a stand-in upstream (any HTTP server of files would do)
 * and an Express app whose pulp-middleware mirrors it at /pulp/content/mirror/.
 *
 *   PORT=8080 npx tsx examples/pull-through.ts
 *   curl -i http://127.0.0.1:8080/pulp/content/mirror/hello.txt   # X-Pulp-Cache: MISS (fetched, streamed, saved)
 *   curl -i http://127.0.0.1:8080/pulp/content/mirror/hello.txt   # X-Pulp-Cache: HIT (from the local store)
 *
 * PULP_DATA_DIR (default ./pulp-data-pull-through) is where pulled files are kept.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { pulpMiddleware } from '../lib'

/** The stand-in upstream: a few files, and a count of the requests it served. */
function startUpstream (): Promise<http.Server> {
  const files: Record<string, string> = {
    '/files/hello.txt': 'hello from the upstream\n',
    '/files/docs/readme.md': '# A mirrored readme\n'
  }
  const server = http.createServer((req, res) => {
    const body = files[req.url ?? '']
    console.log(`upstream: ${req.method} ${req.url} -> ${body === undefined ? 404 : 200}`)
    if (body === undefined) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function main (): Promise<void> {
  const upstream = await startUpstream()
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/files/`

  const app = express()
  const pulp = pulpMiddleware({ dataDir: process.env.PULP_DATA_DIR ?? './pulp-data-pull-through' })
  app.use('/pulp', pulp)
  await pulp.ready

  // A remote says where to pull from; a distribution says where it is served and (optionally)
  // which repository pulled files join.
  await pulp.remotes.get('upstream').catch(async () => await pulp.remotes.create({ name: 'upstream', url: upstreamUrl, negativeCacheTtl: 30 }))
  await pulp.remotes.update('upstream', { url: upstreamUrl })
  await pulp.distributions.get('mirror').catch(async () => await pulp.distributions.create({ name: 'mirror', basePath: 'mirror', remote: 'upstream' }))

  const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pulp/content/mirror`
    console.log(`pull-through example listening on ${base}/`)
    console.log(`  curl -i ${base}/hello.txt   (twice: MISS, then HIT)`)
  })

  const stop = (): void => {
    server.close()
    upstream.close()
    pulp.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
