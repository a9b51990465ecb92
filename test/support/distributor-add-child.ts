/**
 * A child process for the relative_url race: its own pulpMiddleware on a shared database
 * (PULP_CHILD_DATA_DIR, PULP_CHILD_DATABASE as JSON). It answers IPC messages
 * `{ id, repoId, relativeUrl }` by adding a web distributor there, replying `{ id, ok }` or
 * `{ id, ok: false, code, message }`, and sends `'ready'` once the instance is up.
 */
import { pulpMiddleware } from '../../lib'
import type { PulpError } from '../../lib'

interface AddRequest { id: number, repoId: string, relativeUrl: string }

async function main (): Promise<void> {
  const pulp = pulpMiddleware({
    dataDir: process.env.PULP_CHILD_DATA_DIR,
    database: JSON.parse(String(process.env.PULP_CHILD_DATABASE)),
    runner: false
  })
  await pulp.ready
  process.on('message', (message: AddRequest | 'close') => {
    if (message === 'close') {
      pulp.close().then(() => process.disconnect(), (err: unknown) => { console.error(err); process.exit(1) })
      return
    }
    pulp.distributors.add(message.repoId, { distributorTypeId: 'web', distributorConfig: { relative_url: message.relativeUrl } }).then(
      () => process.send?.({ id: message.id, ok: true }),
      (err: PulpError) => process.send?.({ id: message.id, ok: false, code: err.code, message: err.message })
    )
  })
  process.send?.('ready')
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
