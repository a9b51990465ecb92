// A child process that migrates the database named in argv[2] (JSON knex config), for the
// "two processes start at once" test. Prints "migrated" on success.
import knexFactory from 'knex'
import { migrateLatest } from '../../lib/storage/migrations'
import { openConnection } from '../../lib/storage/connection'

async function main (): Promise<void> {
  const config = JSON.parse(process.argv[2]) as Record<string, unknown>
  const { knex } = config.client === 'sqlite3'
    ? openConnection(config as never, '/tmp')
    : { knex: knexFactory(config as never) }
  try {
    await migrateLatest(knex)
    console.log('migrated')
  } finally {
    await knex.destroy()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
