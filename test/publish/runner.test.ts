import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, addFile, api } from '../support/publish-env'
import { gate, scriptedDistributor, type PublishCall } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`the publish runner (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let seq = 0
    const progressGate = gate()
    const observed: Record<string, unknown> = {}
    const inspector = scriptedDistributor({
      id: 'inspector',
      publish: async ({ conduit, config }: PublishCall) => {
        const units = []
        for await (const unit of conduit.units()) units.push(unit)
        const fileUnits = []
        for await (const unit of conduit.units({ typeIds: ['iso'] })) fileUnits.push(unit)
        observed.units = units
        observed.isoUnits = fileUnits
        observed.workingDir = conduit.workingDir
        observed.emptyAtStart = (await readdir(conduit.workingDir)).length === 0
        await writeFile(`${conduit.workingDir}/scratch`, 'x')
        observed.lastPublish = conduit.lastPublish()
        observed.scratchpadBefore = await conduit.getScratchpad()
        await conduit.setScratchpad({ runs: ((await conduit.getScratchpad() as { runs?: number } | null)?.runs ?? 0) + 1 })
        await conduit.setRepoScratchpad({ touched: true })
        observed.repoScratchpad = await conduit.getRepoScratchpad()
        observed.config = config.flatten()
        return conduit.buildSuccessReport({ units: units.length }, { note: 'ok' })
      }
    })
    const progress = scriptedDistributor({
      id: 'progress',
      publish: async ({ conduit }: PublishCall) => {
        conduit.setProgress({ step: 'one', done: 1 })
        conduit.setProgress({ step: 'two', done: 2 })
        await progressGate.promise
        conduit.setProgress({ step: 'last', done: 3 })
        return conduit.buildSuccessReport('done')
      }
    })
    const thrower = scriptedDistributor({ id: 'thrower', publish: async () => { throw new Error('the disk is full') } })
    const failer = scriptedDistributor({ id: 'failer', publish: async ({ conduit }) => conduit.buildFailureReport('upstream said no', { tries: 3 }) })
    const sloppy = scriptedDistributor({ id: 'sloppy', publish: async () => ({ successFlag: true }) })
    const badProgress = scriptedDistributor({
      id: 'bad-progress',
      publish: async ({ conduit }) => {
        try {
          conduit.setProgress({ when: new Date() })
        } catch (err: unknown) {
          return conduit.buildFailureReport(`${(err as Error).name}: ${(err as Error).message}`)
        }
        return conduit.buildSuccessReport()
      }
    })

    before(async () => {
      t = await startPulp({
        dialect: d.name,
        runner: { pollInterval: 0.05 },
        plugins: [{ distributors: [inspector.Class, progress.Class, thrower.Class, failer.Class, sloppy.Class, badProgress.Class] }]
      })
    })
    after(async () => { progressGate.open(); await t?.cleanup() })

    async function repoWith (typeId: string, config: Record<string, unknown> = {}): Promise<string> {
      const id = `repo-${++seq}`
      await api(t).post(`${API}/repositories`).send({ id }).expect(201)
      await api(t).post(`${API}/repositories/${id}/distributors`).send({ distributor_type_id: typeId, distributor_config: config }).expect(201)
      return id
    }

    it('answers 202 with a waiting task and runs it to finished', async () => {
      const r = await repoWith('inspector', { stored: 1 })
      await addFile(t, r, 'b/two.txt', 'two')
      await addFile(t, r, 'a.txt', 'one')
      const res = await api(t).post(`${API}/repositories/${r}/actions/publish`).send({ id: 'inspector', override_config: { extra: true } }).expect(202)
      assert.equal(res.body.state, 'waiting')
      assert.equal(res.body.repo_id, r)
      assert.deepEqual(res.body.override_config, { extra: true })
      const task = await t.pulp.tasks.wait(res.body.task_id, { timeout: 10 })
      assert.equal(task.state, 'finished')
      assert.deepEqual(task.result, { result: 'success', summary: { units: 2 }, details: { note: 'ok' } })
      assert.equal(task.error, null)
      const units = observed.units as Array<Record<string, unknown>>
      assert.deepEqual(units.map((u) => u.relativePath), ['a.txt', 'b/two.txt'])
      assert.match(String(units[0].storagePath), /artifacts\/[0-9a-f]{2}\/[0-9a-f]{62}$/)
      assert.equal(units[0].size, 3)
      assert.deepEqual(observed.isoUnits, [])
      assert.equal(observed.emptyAtStart, true)
      assert.equal(existsSync(String(observed.workingDir)), false, 'the working directory is removed after the run')
      assert.deepEqual(observed.config, { stored: 1, extra: true })
      assert.equal(observed.lastPublish, null)
      assert.deepEqual(observed.repoScratchpad, { touched: true })
    })

    it('keeps the scratchpad and reports lastPublish on the next run', async () => {
      const r = await repoWith('inspector')
      const first = await t.pulp.publish(r, 'inspector')
      await t.pulp.tasks.wait(first.taskId)
      const second = await t.pulp.publish(r, 'inspector', { overrideConfig: { force_full: true } })
      await t.pulp.tasks.wait(second.taskId)
      assert.deepEqual(observed.scratchpadBefore, { runs: 1 })
      assert.ok(observed.lastPublish instanceof Date)
      const stored = await t.pulp.distributors.get(r, 'inspector')
      assert.equal((observed.lastPublish as Date).toISOString() <= String(stored.lastPublish), true)
    })

    it('shows progress through GET /tasks/:id while the publish runs, and keeps the last report', async () => {
      const r = await repoWith('progress')
      const task = await t.pulp.publish(r, 'progress')
      await eventually(async () => {
        const res = await api(t).get(`${API}/tasks/${task.taskId}`).expect(200)
        return res.body.state === 'running' && (res.body.progress_report as { step?: string } | null)?.step === 'two'
      }, 10_000, 'progress "two" to be visible')
      progressGate.open()
      const ended = await t.pulp.tasks.wait(task.taskId)
      assert.equal(ended.state, 'finished')
      assert.deepEqual(ended.progressReport, { step: 'last', done: 3 })
    })

    it('ends failed with the message when publishRepo throws, and records an error in the history', async () => {
      const r = await repoWith('thrower')
      const task = await t.pulp.tasks.wait((await t.pulp.publish(r, 'thrower')).taskId)
      assert.equal(task.state, 'failed')
      assert.deepEqual(task.error, { code: 'ERR_PULP_PUBLISH_ERROR', message: 'the disk is full' })
      const history = await api(t).get(`${API}/repositories/${r}/history/publish/thrower`).expect(200)
      assert.equal(history.body.results[0].result, 'error')
      assert.equal(history.body.results[0].error_message, 'the disk is full')
    })

    it('ends failed for a failure report, with its summary as the message', async () => {
      const r = await repoWith('failer')
      const task = await t.pulp.tasks.wait((await t.pulp.publish(r, 'failer')).taskId)
      assert.equal(task.state, 'failed')
      assert.equal(task.error?.message, 'upstream said no')
      assert.deepEqual(task.result, { result: 'failed', summary: 'upstream said no', details: { tries: 3 } })
      const history = await t.pulp.distributors.get(r, 'failer')
      assert.equal(history.lastPublish, null)
    })

    it('ends failed when publishRepo returns something other than a conduit report', async () => {
      const r = await repoWith('sloppy')
      const task = await t.pulp.tasks.wait((await t.pulp.publish(r, 'sloppy')).taskId)
      assert.equal(task.state, 'failed')
      assert.match(String(task.error?.message), /must return conduit\.buildSuccessReport\(\)/)
    })

    it('throws a TypeError from setProgress for a report that is not plain JSON', async () => {
      const r = await repoWith('bad-progress')
      const task = await t.pulp.tasks.wait((await t.pulp.publish(r, 'bad-progress')).taskId)
      assert.match(String(task.error?.message), /^TypeError: setProgress\(report\) must be JSON-serializable: when is a Date/)
    })

    it('answers 400 for a type that publishes nothing, and 404 for a missing distributor', async () => {
      t.pulp.registry.registerDistributor(class Inert extends (await import('../../lib')).Distributor {
        static metadata () { return { id: 'inert', displayName: 'Inert', types: ['file'] } }
        validateConfig () { return { valid: true } }
      })
      const r = await repoWith('inert')
      const res = await api(t).post(`${API}/repositories/${r}/actions/publish`).send({ id: 'inert' }).expect(400)
      assert.match(res.body.error.message, /publishes nothing/)
      await api(t).post(`${API}/repositories/${r}/actions/publish`).send({ id: 'ghost' }).expect(404)
      await api(t).post(`${API}/repositories/${r}/actions/publish`).send({}).expect(400)
      await api(t).post(`${API}/repositories/${r}/actions/publish`).send({ id: 'inert', override_config: 'x' }).expect(400)
    })
  })
}
