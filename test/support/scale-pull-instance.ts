/**
 * One instance of the multi-process pull-through tests: Express with the middleware at /pulp
 * on a free port, on the database and data directory it shares with the others, and no publish
 * runner. PULP_CHILD_DATA_DIR and PULP_CHILD_DATABASE (a knex config as JSON) say where.
 * Prints `LISTENING <port>` once it listens; SIGTERM closes it, SIGKILL is what tests use to
 * play a crash.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { pulpMiddleware } from '../../lib'

async function main (): Promise<void> {
  const pulp = pulpMiddleware({
    dataDir: process.env.PULP_CHILD_DATA_DIR,
    database: JSON.parse(String(process.env.PULP_CHILD_DATABASE)),
    runner: false
  })
  const app = express()
  app.use('/pulp', pulp)
  await pulp.ready
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  console.log(`LISTENING ${(server.address() as AddressInfo).port}`)
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
