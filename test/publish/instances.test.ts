import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { API, api, sharedDatabase, startOn, waitForState } from '../support/publish-env'
import { aborted, gate, scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`runners across instances, and close() (${d.name})`, { skip: d.skip }, () => {
    it('leaves tasks waiting in an instance without a runner, for one that has it', async () => {
      const db = await sharedDatabase(d.name)
      const quick = scriptedDistributor({ id: 'quick' })
      const apiOnly = await startOn(db, { runner: false, plugins: [{ distributors: [quick.Class] }] })
      try {
        const status = await api(apiOnly).get(`${API}/status`).expect(200)
        assert.equal(status.body.runner.state, 'disabled')
        await apiOnly.pulp.repositories.create({ id: 'r' })
        await apiOnly.pulp.distributors.add('r', { distributorTypeId: 'quick' })
        const task = await apiOnly.pulp.publish('r', 'quick')
        assert.equal((await apiOnly.pulp.tasks.get(task.taskId)).state, 'waiting')
        const worker = await startOn(db, { runner: { pollInterval: 0.05 }, plugins: [{ distributors: [quick.Class] }] })
        try {
          assert.equal((await apiOnly.pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished', 'seen by polling from the other instance')
        } finally {
          await worker.cleanup()
        }
      } finally {
        await apiOnly.cleanup()
        await db.drop()
      }
    })

    it('never lets two runners claim the same task', async () => {
      const db = await sharedDatabase(d.name)
      const runs: string[] = []
      const counting = scriptedDistributor({ id: 'counting', publish: async ({ conduit }) => { runs.push(conduit.taskId); return conduit.buildSuccessReport() } })
      const options = { runner: { concurrency: 3, pollInterval: 0.02 }, plugins: [{ distributors: [counting.Class] }] }
      const a = await startOn(db, options)
      const b = await startOn(db, options)
      try {
        const ids: string[] = []
        for (let r = 0; r < 4; r++) {
          await a.pulp.repositories.create({ id: `r${r}` })
          for (let n = 0; n < 3; n++) await a.pulp.distributors.add(`r${r}`, { distributorTypeId: 'counting', distributorId: `d${n}` })
        }
        for (let round = 0; round < 2; round++) {
          for (let r = 0; r < 4; r++) {
            for (let n = 0; n < 3; n++) {
              const via = (r + n) % 2 === 0 ? a : b
              ids.push((await via.pulp.publish(`r${r}`, `d${n}`, { overrideConfig: { force_full: true } })).taskId)
            }
          }
        }
        for (const id of ids) assert.equal((await a.pulp.tasks.wait(id, { timeout: 20 })).state, 'finished')
        assert.deepEqual([...runs].sort(), [...ids].sort(), 'every task ran exactly once')
      } finally {
        await a.cleanup()
        await b.cleanup()
        await db.drop()
      }
    })

    it('close() waits for a running publish to end', async () => {
      const db = await sharedDatabase(d.name)
      const release = gate()
      const held = scriptedDistributor({ id: 'held', publish: async ({ conduit }) => { await release.promise; return conduit.buildSuccessReport() } })
      const t = await startOn(db, { runner: { pollInterval: 0.05, closeTimeout: 30 }, plugins: [{ distributors: [held.Class] }] })
      try {
        await t.pulp.repositories.create({ id: 'r' })
        await t.pulp.distributors.add('r', { distributorTypeId: 'held' })
        const task = await t.pulp.publish('r', 'held')
        await waitForState(t, task.taskId, ['running'])
        let closed = false
        const closing = t.cleanup().then(() => { closed = true })
        await new Promise((resolve) => setImmediate(resolve))
        assert.equal(closed, false)
        release.open()
        await closing
        assert.equal(held.probe.canceled.length, 0)
      } finally {
        release.open()
        await t.cleanup()
      }
      const after = await startOn(db, { runner: false })
      try {
        const [task] = (await after.pulp.tasks.list()).results
        assert.equal(task.state, 'finished')
      } finally {
        await after.cleanup()
        await db.drop()
      }
    })

    it('close() cancels a publish still running after closeTimeout', async () => {
      const db = await sharedDatabase(d.name)
      const stuck = scriptedDistributor({
        id: 'stuck',
        publish: async ({ conduit }) => { await aborted(conduit.signal); return conduit.buildCancelReport('stopped at close') }
      })
      const t = await startOn(db, { runner: { pollInterval: 0.05, closeTimeout: 0.1 }, plugins: [{ distributors: [stuck.Class] }] })
      let taskId: string
      try {
        await t.pulp.repositories.create({ id: 'r' })
        await t.pulp.distributors.add('r', { distributorTypeId: 'stuck' })
        taskId = (await t.pulp.publish('r', 'stuck')).taskId
        await waitForState(t, taskId, ['running'])
      } finally {
        await t.cleanup()
      }
      assert.equal(stuck.probe.canceled[0], stuck.probe.published[0].instance)
      const after = await startOn(db, { runner: false })
      try {
        const task = await after.pulp.tasks.get(taskId)
        assert.equal(task.state, 'canceled')
        assert.deepEqual(task.result, { result: 'canceled', summary: 'stopped at close', details: null })
      } finally {
        await after.cleanup()
        await db.drop()
      }
    })
  })
}
