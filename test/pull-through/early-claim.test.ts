import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Knex } from 'knex'
import { openConnection } from '../../lib/storage/connection'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { gate, serveFile, testBytes } from '../support/upstream-faults'
import { fetchRaw, startPullThrough, startSecondInstance, type PullThroughFixture } from '../support/upstream-pulp'

// A path not remembered in memory has its lease claimed while the database is looked up (a
// cold pull's upstream request then waits on both at once). When the lookup finds the path
// kept, or the remote down, no download follows: the lease must be let go, or every other
// instance would wait on a path nobody fetches.
for (const d of dialects()) {
  describe(`the lease claimed beside the lookup (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let knex: Knex
    const leases = async (): Promise<number> => (await knex('pulp_pull_downloads').count({ n: '*' }))[0].n as number
    const noLeaseLeft = async (): Promise<void> => {
      await eventually(async () => Number(await leases()) === 0, 5000, 'every lease to be let go')
    }

    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('early', { negativeCacheTtl: 600, dir: 'early/' })
      knex = openConnection(f.t.database, f.t.dataDir).knex
    })
    after(async () => {
      await knex?.destroy()
      await f?.cleanup()
    })

    it('lets go of it when another instance finds the path saved, and still serves the HIT', async () => {
      const body = testBytes(8192)
      f.upstream.on('/early/saved.bin', serveFile(body))
      assert.equal((await f.get('early/saved.bin')).status, 200)
      await f.untilHit('early/saved.bin')
      const other = await startSecondInstance(f)
      try {
        const res = await fetchRaw(other.port, '/pulp/content/early/saved.bin')
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], 'HIT')
        assert.ok(res.body.equals(body))
        await noLeaseLeft()
        assert.equal(f.upstream.hits('/early/saved.bin', 'GET'), 1)
      } finally {
        await other.close()
      }
    })

    it('lets go of it for a remembered 404, so that another instance may fetch the path at once', async () => {
      assert.equal((await f.get('early/later.bin')).status, 404)
      const other = await startSecondInstance(f)
      try {
        const remembered = await fetchRaw(other.port, '/pulp/content/early/later.bin')
        assert.equal(remembered.status, 404)
        assert.equal(remembered.headers['x-pulp-cache'], 'HIT')
        await noLeaseLeft()
      } finally {
        await other.close()
      }
      assert.equal(f.upstream.hits('/early/later.bin'), 1)
    })

    it('hands it to the download when the path is cold: one upstream fetch for requests arriving together', async () => {
      const body = testBytes(256 * 1024)
      const held = gate()
      f.upstream.on('/early/cold.bin', serveFile(body, { chunk: 64 * 1024, gate: held.promise }))
      const other = await startSecondInstance(f)
      try {
        const asked = [
          f.get('early/cold.bin'), f.get('early/cold.bin'),
          fetchRaw(other.port, '/pulp/content/early/cold.bin'), fetchRaw(other.port, '/pulp/content/early/cold.bin')
        ]
        await eventually(async () => f.upstream.hits('/early/cold.bin', 'GET') === 1, 5000, 'the upstream to be asked')
        held.open()
        for (const res of await Promise.all(asked)) {
          assert.equal(res.status, 200)
          assert.ok(res.body.equals(body))
        }
        assert.equal(f.upstream.hits('/early/cold.bin', 'GET'), 1, 'one fetch across both instances')
        await f.untilHit('early/cold.bin')
        await noLeaseLeft()
      } finally {
        await other.close()
      }
    })
  })
}
