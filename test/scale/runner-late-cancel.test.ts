import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { sharedDatabase, startOn } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`cancelPublishRepo and publishes that already ended (${d.name})`, { skip: d.skip }, () => {
    it('is never called for a publish that has returned, even when a poll sees its task ended first', { timeout: 60_000 }, async () => {
      const db = await sharedDatabase(d.name)
      const quick = scriptedDistributor({ id: 'quick' })
      // Two instances polling hard: each poll also asks the table about the tasks it is running.
      const options = { runner: { concurrency: 4, pollInterval: 0.001 }, plugins: [{ distributors: [quick.Class] }] }
      const a = await startOn(db, options)
      const b = await startOn(db, options)
      try {
        for (let r = 0; r < 8; r++) {
          await a.pulp.repositories.create({ id: `r${r}` })
          await a.pulp.distributors.add(`r${r}`, { distributorTypeId: 'quick' })
        }
        const ids: string[] = []
        for (let round = 0; round < 10; round++) {
          for (let r = 0; r < 8; r++) ids.push((await (r % 2 === 0 ? a : b).pulp.publish(`r${r}`, 'quick', { overrideConfig: { force_full: true } })).taskId)
        }
        for (const id of ids) assert.equal((await a.pulp.tasks.wait(id, { timeout: 30 })).state, 'finished')
        assert.equal(quick.probe.published.length, ids.length)
        assert.equal(quick.probe.canceled.length, 0, 'no distributor was asked to cancel a publish it had finished')
      } finally {
        await a.cleanup()
        await b.cleanup()
        await db.drop()
      }
    })
  })
}
