// Experiment: the least a pull-through could do: undici to the upstream, piped to the client.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { childArgs, exitWithParent, onStop, sendReady } from '../lib/child'

const { upstream } = childArgs<{ upstream: string }>()
const agent = new Agent()
const server = http.createServer((req, res) => {
  void (async () => {
    const url = new URL(upstream + (req.url ?? '/').replace(/^\/proxy\//, ''))
    const up = await agent.request({ origin: url.origin, path: url.pathname, method: 'GET' })
    res.writeHead(up.statusCode, { 'content-length': up.headers['content-length'] as string })
    for await (const chunk of up.body) { if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve)) }
    res.end()
  })().catch(() => res.destroy())
})
server.listen(0, '127.0.0.1', () => {
  exitWithParent()
  onStop(async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) })
  sendReady({ port: (server.address() as AddressInfo).port })
})
