import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, api, waitForState } from '../support/publish-env'
import { gate, scriptedDistributor, type Gate } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`publish order and concurrency (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const log: string[] = []
    const gates = new Map<string, Gate>()
    let running = 0
    let maxRunning = 0
    // Each publish waits for the gate named after its task id, so the test decides when it ends.
    const held = scriptedDistributor({
      id: 'held',
      publish: async ({ conduit }) => {
        running++
        maxRunning = Math.max(maxRunning, running)
        log.push(`start ${conduit.distributorId} ${conduit.taskId}`)
        if (!gates.has(conduit.taskId)) gates.set(conduit.taskId, gate())
        await gates.get(conduit.taskId)?.promise
        log.push(`end ${conduit.distributorId} ${conduit.taskId}`)
        running--
        return conduit.buildSuccessReport()
      }
    })

    /** Waits until publishRepo itself runs (the task is `running` a little before). */
    async function started (taskId: string): Promise<void> {
      await eventually(() => log.some((line) => line.startsWith('start') && line.endsWith(taskId)), 10_000, `task ${taskId} to start`)
    }

    function release (taskId: string): void {
      if (!gates.has(taskId)) gates.set(taskId, gate())
      gates.get(taskId)?.open()
    }

    before(async () => {
      t = await startPulp({ dialect: d.name, runner: { concurrency: 2, pollInterval: 0.05 }, plugins: [{ distributors: [held.Class] }] })
      for (const r of ['r1', 'r2']) {
        await api(t).post(`${API}/repositories`).send({ id: r }).expect(201)
        for (const id of ['a', 'b', 'c']) {
          await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'held', distributor_id: id }).expect(201)
        }
      }
    })
    after(async () => {
      for (const g of gates.values()) g.open()
      await t?.cleanup()
    })

    it('runs one publish per repository + distributor at a time, in the order they were queued', async () => {
      log.length = 0
      const force = { overrideConfig: { force_full: true } }
      const a1 = await t.pulp.publish('r1', 'a', force)
      const a2 = await t.pulp.publish('r1', 'a', force)
      const a3 = await t.pulp.publish('r1', 'a', force)
      const b1 = await t.pulp.publish('r1', 'b', force)
      await waitForState(t, a1.taskId, ['running'])
      await waitForState(t, b1.taskId, ['running'])
      // A slot frees when b1 ends; a2 must still wait for a1, not take it.
      release(b1.taskId)
      await waitForState(t, b1.taskId, ['finished'])
      const other = await t.pulp.publish('r2', 'a', force)
      await waitForState(t, other.taskId, ['running'])
      assert.equal((await t.pulp.tasks.get(a2.taskId)).state, 'waiting')
      release(other.taskId)
      for (const task of [a1, a2, a3]) {
        await waitForState(t, task.taskId, ['running'])
        assert.equal((await t.pulp.tasks.get(a3.taskId)).state, task === a3 ? 'running' : 'waiting')
        release(task.taskId)
        await waitForState(t, task.taskId, ['finished'])
      }
      const ofA = log.filter((line) => line.includes(' a ') && !line.includes(other.taskId))
      assert.deepEqual(ofA, [a1, a2, a3].flatMap((task) => [`start a ${task.taskId}`, `end a ${task.taskId}`]))
    })

    it('runs at most `concurrency` publishes at once', async () => {
      await eventually(() => running === 0, 10_000, 'the publishes of the last test to end')
      maxRunning = 0
      const tasks = []
      for (const [r, id] of [['r2', 'a'], ['r2', 'b'], ['r2', 'c'], ['r1', 'c']]) {
        tasks.push(await t.pulp.publish(r, id, { overrideConfig: { force_full: true } }))
      }
      await started(tasks[0].taskId)
      await started(tasks[1].taskId)
      const list = await api(t).get(`${API}/tasks?state=running`).expect(200)
      assert.equal(list.body.count, 2)
      assert.deepEqual([tasks[2], tasks[3]].map(() => 'waiting'), await Promise.all([tasks[2], tasks[3]].map(async (x) => (await t.pulp.tasks.get(x.taskId)).state)))
      for (const task of tasks) {
        await started(task.taskId)
        release(task.taskId)
      }
      for (const task of tasks) assert.equal((await t.pulp.tasks.wait(task.taskId)).state, 'finished')
      assert.equal(maxRunning, 2)
    })
  })
}
