/**
 * A child process for the crash-at-activation test: it publishes the repository `act` once with
 * the real `web` distributor, then publishes again and holds that publish right before or right
 * after the link switch (PULP_CHILD_AT = before | after), printing `HELD <task id>`, and waits to
 * be killed. PULP_CHILD_DATA_DIR and PULP_CHILD_DATABASE (a knex config as JSON) say where.
 */
import { pulpMiddleware } from '../../lib'
import { heldWebDistributor } from './publish-distributors'

async function main (): Promise<void> {
  const at = process.env.PULP_CHILD_AT === 'before' ? 'before' : 'after'
  const held = heldWebDistributor(async (conduit, activate) => {
    if (at === 'after') await activate()
    console.log(`HELD ${conduit.taskId}`)
    await new Promise(() => {})
  })
  const pulp = pulpMiddleware({
    dataDir: process.env.PULP_CHILD_DATA_DIR,
    database: JSON.parse(String(process.env.PULP_CHILD_DATABASE)),
    runner: { pollInterval: 0.05 },
    plugins: [{ distributors: [held] }]
  })
  await pulp.ready
  await pulp.repositories.create({ id: 'act' })
  await pulp.repositories.addContent('act', { file: Buffer.from('one'), relativePath: 'v.txt' })
  await pulp.distributors.add('act', { distributorTypeId: 'held-web', distributorId: 'web', distributorConfig: { relative_url: 'act' } })
  const first = await pulp.tasks.wait((await pulp.publish('act', 'web')).taskId, { timeout: 20 })
  if (first.state !== 'finished') throw new Error(`the first publish ended ${first.state}`)
  await pulp.repositories.addContent('act', { file: Buffer.from('two'), relativePath: 'w.txt' })
  await pulp.publish('act', 'web', { overrideConfig: { hold: true } })
  setInterval(() => {}, 1000)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
