import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, api, waitForState } from '../support/publish-env'
import { aborted, gate, scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`canceling a publish (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let seq = 0
    const release = gate()
    const workingDirs: string[] = []
    // Holds until canceled (or released), then answers as a well-behaved distributor does.
    const slow = scriptedDistributor({
      id: 'slow',
      publish: async ({ conduit }) => {
        workingDirs.push(conduit.workingDir)
        await Promise.race([aborted(conduit.signal), release.promise])
        return conduit.signal.aborted ? conduit.buildCancelReport('stopped') : conduit.buildSuccessReport('done')
      }
    })
    // Ignores its signal: only cancelPublishRepo on the same instance can stop it.
    const stubborn = scriptedDistributor({
      id: 'stubborn',
      publish: async ({ instance }) => {
        await new Promise<void>((resolve) => { (instance as unknown as { stop: () => void }).stop = resolve })
        throw new Error('stopped by cancelPublishRepo')
      },
      cancel: (instance) => { (instance as unknown as { stop: () => void }).stop() }
    })

    before(async () => {
      t = await startPulp({
        dialect: d.name, runner: { concurrency: 1, pollInterval: 0.05 }, plugins: [{ distributors: [slow.Class, stubborn.Class] }]
      })
    })
    after(async () => { release.open(); await t?.cleanup() })

    async function repoWith (typeId: string): Promise<string> {
      const id = `repo-${++seq}`
      await api(t).post(`${API}/repositories`).send({ id }).expect(201)
      await api(t).post(`${API}/repositories/${id}/distributors`).send({ distributor_type_id: typeId }).expect(201)
      return id
    }

    it('cancels a waiting task at once, and a running one through its signal', async () => {
      const r = await repoWith('slow')
      const running = await t.pulp.publish(r, 'slow', { overrideConfig: { force_full: true } })
      await waitForState(t, running.taskId, ['running'])
      await eventually(() => slow.probe.published.length === 1, 10_000, 'publishRepo to be entered')
      const waiting = await t.pulp.publish(r, 'slow', { overrideConfig: { force_full: true } })
      const canceledWaiting = await api(t).delete(`${API}/tasks/${waiting.taskId}`).expect(202)
      assert.equal(canceledWaiting.body.state, 'canceled')

      const res = await api(t).delete(`${API}/tasks/${running.taskId}`).expect(202)
      assert.equal(res.body.cancel_requested, true)
      const ended = await t.pulp.tasks.wait(running.taskId, { timeout: 10 })
      assert.equal(ended.state, 'canceled')
      assert.deepEqual(ended.result, { result: 'canceled', summary: 'stopped', details: null })
      assert.equal(slow.probe.canceled.length, 1)
      assert.equal(slow.probe.canceled[0], slow.probe.published.at(-1)?.instance, 'cancelPublishRepo reached the instance running the publish')
      assert.equal(existsSync(workingDirs.at(-1) as string), false, 'no working directory is left behind')
      assert.equal((await t.pulp.tasks.get(waiting.taskId)).state, 'canceled')
      assert.equal(slow.probe.published.length, 1, 'the canceled waiting task never ran')
      const history = await t.pulp.distributors.get(r, 'slow')
      assert.equal(history.lastPublish, null)
    })

    it('reaches cancelPublishRepo on the running instance of a distributor that ignores its signal', async () => {
      const r = await repoWith('stubborn')
      const task = await t.pulp.publish(r, 'stubborn')
      await waitForState(t, task.taskId, ['running'])
      // 'running' comes with the claim; a cancel before publishRepo is entered never calls it.
      await eventually(() => stubborn.probe.published.length === 1, 10_000, 'publishRepo to be entered')
      await t.pulp.tasks.cancel(task.taskId)
      const ended = await t.pulp.tasks.wait(task.taskId, { timeout: 10 })
      assert.equal(ended.state, 'canceled')
      assert.equal(stubborn.probe.canceled[0], stubborn.probe.published[0].instance)
      const history = await api(t).get(`${API}/repositories/${r}/history/publish/stubborn`).expect(200)
      assert.equal(history.body.results[0].result, 'canceled')
    })

    it('answers 409 for a task that already ended, and 404 for an unknown one', async () => {
      const r = await repoWith('slow')
      const task = await t.pulp.publish(r, 'slow')
      await t.pulp.tasks.cancel(task.taskId)
      await t.pulp.tasks.wait(task.taskId)
      const res = await api(t).delete(`${API}/tasks/${task.taskId}`).expect(409)
      assert.match(res.body.error.message, /already ended \(canceled\)/)
      await api(t).delete(`${API}/tasks/00000000-0000-0000-0000-000000000000`).expect(404)
      await api(t).get(`${API}/tasks/nope`).expect(404)
    })
  })
}
