/**
 * The floor of measure 11's revalidation for a Node process: a bare `node:http` proxy in front
 * of `upstream` that keeps each path's copy in memory and asks the upstream again on every
 * request, with `If-None-Match`, over a kept-alive undici Agent (the client pulp-middleware's
 * pull-through uses). A 304 answers the copy; a 200 replaces it. No database, no lease, no
 * files, no routing: what is left is the client's connection, the upstream's round trip and
 * the answer.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { childArgs, exitWithParent, onStop, sendReady } from '../lib/child'

export interface BareRevalidatorArgs {
  /** `http://127.0.0.1:<port>`: the upstream, asked for the same path as the client's. */
  upstream: string
}

interface Copy { body: Buffer, etag: string, contentType: string }

const args = childArgs<BareRevalidatorArgs>()
const agent = new Agent()
const copies = new Map<string, Copy>()

function one (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

async function answer (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = req.url ?? '/'
  const copy = copies.get(url)
  const up = await request(`${args.upstream}${url}`, {
    dispatcher: agent,
    headers: copy === undefined ? {} : { 'if-none-match': copy.etag }
  })
  if (up.statusCode === 304 && copy !== undefined) {
    await up.body.dump()
    res.writeHead(200, { 'content-type': copy.contentType, 'content-length': copy.body.length, etag: copy.etag, 'x-cache': 'REVALIDATED' })
    res.end(copy.body)
    return
  }
  const body = Buffer.from(await up.body.arrayBuffer())
  const etag = one(up.headers.etag)
  const contentType = one(up.headers['content-type']) ?? 'application/octet-stream'
  if (up.statusCode === 200 && etag !== undefined) copies.set(url, { body, etag, contentType })
  res.writeHead(up.statusCode, { 'content-type': contentType, 'content-length': body.length, 'x-cache': 'MISS' })
  res.end(body)
}

const server = http.createServer((req, res) => {
  answer(req, res).catch((err: unknown) => {
    if (res.headersSent) res.destroy()
    else res.writeHead(502).end(String(err))
  })
})

server.listen(0, '127.0.0.1', () => {
  exitWithParent()
  onStop(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await agent.close()
  })
  sendReady({ port: (server.address() as AddressInfo).port })
})
