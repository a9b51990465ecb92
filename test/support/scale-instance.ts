/**
 * One instance of a multi-process test: an Express app with the middleware at /pulp on a free
 * port, on the shared database and data directory, with the scale test distributors. Prints
 * `READY <name> <base url> <instance id> <pid>` once it listens; SIGTERM closes it (exit 0).
 *
 * SCALE_NAME, SCALE_DATA_DIR, SCALE_LOG_DIR, SCALE_DATABASE (a knex config as JSON) and
 * SCALE_RUNNER (the runner option as JSON: an object or false) say what it is.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { pulpMiddleware } from '../../lib'
import { scaleDistributors } from './scale-distributors'

async function main (): Promise<void> {
  const name = String(process.env.SCALE_NAME)
  const pulp = pulpMiddleware({
    dataDir: process.env.SCALE_DATA_DIR,
    database: JSON.parse(String(process.env.SCALE_DATABASE)),
    runner: JSON.parse(String(process.env.SCALE_RUNNER)),
    plugins: [{ distributors: scaleDistributors(name, String(process.env.SCALE_LOG_DIR)) }]
  })
  const app = express()
  app.use('/pulp', pulp)
  await pulp.ready
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const { runner } = await pulp.status()
  console.log(`READY ${name} http://127.0.0.1:${port}/pulp ${runner.instanceId} ${process.pid}`)

  process.once('SIGTERM', () => {
    server.close()
    server.closeAllConnections()
    pulp.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
