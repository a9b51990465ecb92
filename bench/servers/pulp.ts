/**
 * A server under test: an Express app with pulp-middleware mounted at /pulp on `dataDir`,
 * exactly as a user mounts it. Answers `memory-reset` / `memory` over IPC.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { pulpMiddleware, type PulpOptions } from '../../lib'
import { childArgs, exitWithParent, onStop, sendReady } from '../lib/child'
import { PeakRss } from '../lib/memory'
import { serveRpc } from '../lib/rpc'

export interface PulpServerArgs {
  dataDir: string
  options?: PulpOptions
  /** Answer content before Express (`pulp.attach(server)`), as a user who opts in does. */
  attach?: boolean
}

async function main (): Promise<void> {
  const args = childArgs<PulpServerArgs>()
  const memory = new PeakRss()
  const app = express()
  const pulp = pulpMiddleware({ ...args.options, dataDir: args.dataDir })
  app.use('/pulp', pulp)
  await pulp.ready
  const server = app.listen(0, '127.0.0.1')
  if (args.attach === true) pulp.attach(server, { mountPath: '/pulp' })
  await new Promise<void>((resolve) => server.once('listening', resolve))
  serveRpc({
    'memory-reset': () => memory.reset(),
    memory: () => memory.read(),
    cpu: () => process.cpuUsage()
  })
  exitWithParent()
  onStop(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await pulp.close()
  })
  sendReady({ port: (server.address() as AddressInfo).port })
}

main().catch((err: unknown) => {
  process.stderr.write(`pulp server failed: ${String(err)}\n`)
  process.exit(1)
})
