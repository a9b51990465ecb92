import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, api } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`the tasks API (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const ids: string[] = []

    before(async () => {
      t = await startPulp({ dialect: d.name, runner: { pollInterval: 0.05 }, plugins: [{ distributors: [scriptedDistributor({ id: 'quick' }).Class] }] })
      await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
      await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'quick' }).expect(201)
      for (let i = 0; i < 3; i++) {
        const res = await api(t).post(`${API}/repositories/r/actions/publish`).send({ id: 'quick' }).expect(202)
        ids.push(res.body.task_id)
        await t.pulp.tasks.wait(res.body.task_id)
      }
    })
    after(async () => { await t?.cleanup() })

    it('lists tasks newest first as {count, results}, paged', async () => {
      const res = await api(t).get(`${API}/tasks`).expect(200)
      assert.equal(res.body.count, 3)
      assert.deepEqual(res.body.results.map((x: { task_id: string }) => x.task_id), [...ids].reverse())
      const page = await api(t).get(`${API}/tasks?limit=1&offset=2`).expect(200)
      assert.deepEqual(page.body.results.map((x: { task_id: string }) => x.task_id), [ids[0]])
    })

    it('filters by state, one or several', async () => {
      const skipped = await api(t).get(`${API}/tasks?state=skipped`).expect(200)
      assert.deepEqual(skipped.body.results.map((x: { task_id: string }) => x.task_id), [ids[2], ids[1]])
      const both = await api(t).get(`${API}/tasks?state=finished,skipped`).expect(200)
      assert.equal(both.body.count, 3)
      const bad = await api(t).get(`${API}/tasks?state=done`).expect(400)
      assert.match(bad.body.error.message, /"state" must be one of waiting, running, finished, failed, canceled, skipped/)
    })

    it('filters by repository and distributor ids, refusing what is no id', async () => {
      const task = (await api(t).get(`${API}/tasks/${ids[0]}`).expect(200)).body as { repo_id: string, distributor_id: string }
      const mine = await api(t).get(`${API}/tasks?repo_id=${task.repo_id}&distributor_id=${task.distributor_id}`).expect(200)
      assert.ok(mine.body.count >= 1)
      assert.ok(mine.body.results.every((x: { repo_id: string }) => x.repo_id === task.repo_id))
      assert.equal((await api(t).get(`${API}/tasks?repo_id=no-such-repo`).expect(200)).body.count, 0)
      const bad = await api(t).get(`${API}/tasks?repo_id=a%20b`).expect(400)
      assert.match(bad.body.error.message, /^"repo_id" may contain only letters/)
      const twice = await api(t).get(`${API}/tasks?distributor_id=a&distributor_id=b`).expect(400)
      assert.match(twice.body.error.message, /^"distributor_id" is required and must be a non-empty string/)
    })

    it('reads one task with its snake_case fields', async () => {
      const res = await api(t).get(`${API}/tasks/${ids[0]}`).expect(200)
      for (const key of ['task_id', 'task_type', 'state', 'repo_id', 'distributor_id', 'progress_report', 'result', 'error', 'created', 'started', 'finished']) {
        assert.ok(key in res.body, `has ${key}`)
      }
      assert.equal(res.body.state, 'finished')
      assert.equal(res.body.task_type, 'publish')
    })

    it('rejects wait() with ERR_PULP_TIMEOUT for a task that does not end in time', async () => {
      const waiting = await t.pulp.tasks.list({ state: 'waiting' })
      assert.equal(waiting.count, 0)
      const r2 = await t.pulp.repositories.create({ id: 'held' })
      const held = scriptedDistributor({ id: 'held', publish: async ({ conduit }) => await new Promise((resolve) => conduit.signal.addEventListener('abort', () => resolve(conduit.buildCancelReport()))) })
      t.pulp.registry.registerDistributor(held.Class)
      await t.pulp.distributors.add(r2.id, { distributorTypeId: 'held' })
      const task = await t.pulp.publish(r2.id, 'held')
      await assert.rejects(t.pulp.tasks.wait(task.taskId, { timeout: 0.1 }), { code: 'ERR_PULP_TIMEOUT' })
      await t.pulp.tasks.cancel(task.taskId)
      assert.equal((await t.pulp.tasks.wait(task.taskId)).state, 'canceled')
    })
  })
}
