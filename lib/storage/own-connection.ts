import type { Knex } from 'knex'

type AfterCreate = (conn: unknown, done: (err: Error | null, conn: unknown) => void) => void

/**
 * A connection outside the pool, set up the way the pool sets up its own (its `afterCreate`
 * hook: SQLite's pragmas, a host app's `SET ROLE` or search path).
 */
export async function openOwnConnection (knex: Knex): Promise<unknown> {
  const conn = await knex.client.acquireRawConnection() as unknown
  const afterCreate = (knex.client.config as Knex.Config | undefined)?.pool?.afterCreate as AfterCreate | undefined
  if (afterCreate === undefined) return conn
  try {
    await new Promise<void>((resolve, reject) => {
      afterCreate(conn, (err) => { if (err === null || err === undefined) resolve(); else reject(err) })
    })
  } catch (err: unknown) {
    await knex.client.destroyRawConnection(conn).catch(() => {})
    throw err
  }
  return conn
}
