/** The peer of the static tree: `express.static` over a plain directory, in its own Express app. */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { childArgs, exitWithParent, onStop, sendReady } from '../lib/child'
import { PeakRss } from '../lib/memory'
import { serveRpc } from '../lib/rpc'

export interface StaticServerArgs {
  root: string
  /** Where the directory is mounted, e.g. `/static`. */
  mount: string
}

const args = childArgs<StaticServerArgs>()
const memory = new PeakRss()
const app = express()
app.use(args.mount, express.static(args.root))
const server = app.listen(0, '127.0.0.1', () => {
  serveRpc({ 'memory-reset': () => memory.reset(), memory: () => memory.read(), cpu: () => process.cpuUsage() })
  exitWithParent()
  onStop(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  sendReady({ port: (server.address() as AddressInfo).port })
})
