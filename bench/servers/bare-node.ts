/**
 * The ceiling of one Node process for a small file: `node:http` alone, no Express, answering
 * every request with the file's bytes read once at start-up and the headers a static server
 * sends (type, length, validators, ranges, caching). Nothing is looked up per request, so no
 * server in one Node process can answer faster; measure 1 prints it beside nginx.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { childArgs, exitWithParent, onStop, sendReady } from '../lib/child'
import { serveRpc } from '../lib/rpc'

export interface BareNodeServerArgs {
  /** The file answered to every request. */
  file: string
}

const args = childArgs<BareNodeServerArgs>()
const body = readFileSync(args.file)
const headers = {
  'Content-Type': 'application/octet-stream',
  'Content-Length': String(body.length),
  ETag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
  'Last-Modified': statSync(args.file).mtime.toUTCString(),
  'Accept-Ranges': 'bytes',
  'Cache-Control': 'public, max-age=0'
}
const server = createServer((_req, res) => {
  res.writeHead(200, headers)
  res.end(body)
})
server.listen(0, '127.0.0.1', () => {
  serveRpc({ cpu: () => process.cpuUsage() })
  exitWithParent()
  onStop(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  sendReady({ port: (server.address() as AddressInfo).port })
})
