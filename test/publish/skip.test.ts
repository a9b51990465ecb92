import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, addFile, api } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`skipping a publish when nothing changed (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const counter = scriptedDistributor({ id: 'counter' })

    before(async () => {
      t = await startPulp({ dialect: d.name, runner: { pollInterval: 0.05 }, plugins: [{ distributors: [counter.Class] }] })
      await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
      await addFile(t, 'r', 'a.txt', 'a')
      await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'counter', distributor_config: { x: 1 } }).expect(201)
    })
    after(async () => { await t?.cleanup() })

    async function publish (overrideConfig?: Record<string, unknown>): Promise<string> {
      const calls = counter.probe.published.length
      const task = await t.pulp.tasks.wait((await t.pulp.publish('r', 'counter', { overrideConfig })).taskId)
      assert.equal(counter.probe.published.length - calls, task.state === 'skipped' ? 0 : 1, 'publishRepo ran exactly when the task was not skipped')
      return task.state
    }

    it('skips a publish with the same content, config and override as the last successful one', async () => {
      assert.equal(await publish(), 'finished')
      assert.equal(await publish(), 'skipped')
      const task = (await t.pulp.tasks.list({ state: 'skipped' })).results[0]
      assert.deepEqual(task.result, { result: 'skipped', summary: 'skipped: nothing changed since the last successful publish', details: null })
    })

    it('publishes anyway with force_full, and that does not change what counts as the same', async () => {
      assert.equal(await publish({ force_full: true }), 'finished')
      assert.equal(await publish({ force_full: false }), 'skipped')
    })

    it('publishes again after the content changed', async () => {
      await addFile(t, 'r', 'b.txt', 'b')
      assert.equal(await publish(), 'finished')
      assert.equal(await publish(), 'skipped')
    })

    it('publishes again after the stored config or the override changed', async () => {
      await t.pulp.distributors.update('r', 'counter', { distributorConfig: { x: 2 } })
      assert.equal(await publish(), 'finished')
      assert.equal(await publish({ y: true }), 'finished')
      assert.equal(await publish({ y: true }), 'skipped')
      assert.equal(await publish(), 'finished')
    })

    it('records skipped publishes in the history', async () => {
      const res = await api(t).get(`${API}/repositories/r/history/publish/counter?limit=2`).expect(200)
      assert.deepEqual(res.body.results.map((h: { result: string }) => h.result), ['success', 'skipped'])
    })
  })
}
