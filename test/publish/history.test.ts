import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, api } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`publish history (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const outcomes = ['success', 'failure', 'throw', 'success']
    const taskIds: string[] = []
    const varied = scriptedDistributor({
      id: 'varied',
      publish: async ({ conduit, config }) => {
        const outcome = config.get('outcome')
        if (outcome === 'throw') throw new Error('kaput')
        if (outcome === 'failure') return conduit.buildFailureReport({ message: 'no luck' }, { at: 'step 2' })
        return conduit.buildSuccessReport({ files: 1 }, { took: 'a moment' })
      }
    })

    before(async () => {
      t = await startPulp({ dialect: d.name, runner: { pollInterval: 0.05 }, plugins: [{ distributors: [varied.Class] }] })
      await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
      await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'varied' }).expect(201)
      for (const outcome of outcomes) {
        const task = await t.pulp.publish('r', 'varied', { overrideConfig: { outcome, force_full: true } })
        taskIds.push(task.taskId)
        await t.pulp.tasks.wait(task.taskId)
      }
    })
    after(async () => { await t?.cleanup() })

    it('lists every publish newest first, with started, completed, result, summary, details and error_message', async () => {
      const res = await api(t).get(`${API}/repositories/r/history/publish/varied`).expect(200)
      assert.equal(res.body.count, 4)
      const [last, thrown, failed, first] = res.body.results
      assert.deepEqual(res.body.results.map((h: { task_id: string }) => h.task_id), [...taskIds].reverse())
      assert.deepEqual({ ...last, id: 0, started: '', completed: '' }, {
        id: 0, repo_id: 'r', distributor_id: 'varied', task_id: taskIds[3], started: '', completed: '',
        result: 'success', summary: { files: 1 }, details: { took: 'a moment' }, error_message: null
      })
      assert.ok(last.started <= last.completed)
      assert.ok(first.completed <= last.started)
      assert.deepEqual([thrown.result, thrown.error_message], ['error', 'kaput'])
      assert.deepEqual([failed.result, failed.error_message, failed.details], ['failed', 'no luck', { at: 'step 2' }])
    })

    it('pages with limit and offset', async () => {
      const res = await api(t).get(`${API}/repositories/r/history/publish/varied?limit=1&offset=1`).expect(200)
      assert.equal(res.body.count, 4)
      assert.deepEqual(res.body.results.map((h: { task_id: string }) => h.task_id), [taskIds[2]])
      await api(t).get(`${API}/repositories/r/history/publish/varied?limit=-1`).expect(400)
    })

    it('answers 404 for an unknown distributor or repository', async () => {
      await api(t).get(`${API}/repositories/r/history/publish/nope`).expect(404)
      await api(t).get(`${API}/repositories/nope/history/publish/varied`).expect(404)
    })

    it('is dropped with the distributor, so one added again starts afresh', async () => {
      await t.pulp.distributors.remove('r', 'varied')
      await t.pulp.distributors.add('r', { distributorTypeId: 'varied' })
      assert.equal((await t.pulp.distributors.history('r', 'varied')).count, 0)
      const task = await t.pulp.tasks.wait((await t.pulp.publish('r', 'varied', { overrideConfig: { outcome: 'success' } })).taskId)
      assert.equal(task.state, 'finished', 'not skipped: the earlier success belonged to the removed distributor')
    })
  })
}
