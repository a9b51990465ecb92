/**
 * A child process for the interrupted-publish test: it starts a publish that never ends on its
 * own, prints `WORKING <task id> <working dir>` once the publish has written to its working
 * directory, and waits to be killed. PULP_CHILD_DATA_DIR and PULP_CHILD_DATABASE (a knex
 * config as JSON) say where.
 */
import { writeFile } from 'node:fs/promises'
import { pulpMiddleware } from '../../lib'
import { scriptedDistributor } from './publish-distributors'

async function main (): Promise<void> {
  const sleepy = scriptedDistributor({
    id: 'sleepy',
    publish: async ({ conduit }) => {
      await writeFile(`${conduit.workingDir}/half-built`, 'partial')
      console.log(`WORKING ${conduit.taskId} ${conduit.workingDir}`)
      await new Promise(() => {})
      return conduit.buildSuccessReport()
    }
  })
  const pulp = pulpMiddleware({
    dataDir: process.env.PULP_CHILD_DATA_DIR,
    database: JSON.parse(String(process.env.PULP_CHILD_DATABASE)),
    runner: { pollInterval: 0.05 },
    plugins: [{ distributors: [sleepy.Class] }]
  })
  await pulp.ready
  await pulp.repositories.create({ id: 'crash' })
  await pulp.distributors.add('crash', { distributorTypeId: 'sleepy' })
  await pulp.publish('crash', 'sleepy')
  // Queued behind the first: the next instance should run it.
  await pulp.publish('crash', 'sleepy', { overrideConfig: { second: true } })
  setInterval(() => {}, 1000)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
