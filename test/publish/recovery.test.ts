import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { existsSync } from 'node:fs'
import { dialects } from '../support/databases'
import { startScript } from '../support/processes'
import { API, api, sharedDatabase, startOn } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

const CHILD = path.join(__dirname, '..', 'support', 'publish-child.ts')

for (const d of dialects()) {
  describe(`recovery after a crash (${d.name})`, { skip: d.skip }, () => {
    it('marks the publish a killed process was running failed ("interrupted") and removes its working directory', async () => {
      const db = await sharedDatabase(d.name)
      try {
        const { child, match } = await startScript(CHILD, [], { PULP_CHILD_DATA_DIR: db.dataDir, PULP_CHILD_DATABASE: db.describe(), DEBUG: '' }, /WORKING (\S+) (\S+)/)
        const [, taskId, workingDir] = match
        assert.ok(existsSync(path.join(workingDir, 'half-built')))
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited

        const quick = scriptedDistributor({ id: 'sleepy' })
        const t = await startOn(db, { runner: { pollInterval: 0.05 }, plugins: [{ distributors: [quick.Class] }] })
        try {
          const task = await t.pulp.tasks.get(taskId)
          assert.equal(task.state, 'failed')
          assert.equal(task.error?.code, 'ERR_PULP_TASK_INTERRUPTED')
          assert.match(String(task.error?.message), /^interrupted/)
          assert.equal(existsSync(workingDir), false, 'the working directory is gone')
          const history = await api(t).get(`${API}/repositories/crash/history/publish/sleepy`).expect(200)
          assert.equal(history.body.results.at(-1).result, 'error')
          assert.match(history.body.results.at(-1).error_message, /^interrupted/)

          const queued = (await t.pulp.tasks.list({ repoId: 'crash' })).results.find((x) => x.taskId !== taskId)
          assert.ok(queued)
          assert.equal((await t.pulp.tasks.wait(queued.taskId, { timeout: 10 })).state, 'finished', 'the task queued behind it runs')
          assert.deepEqual(quick.probe.published.map((c) => c.config.get('second')), [true])
        } finally {
          await t.cleanup()
        }
      } finally {
        await db.drop()
      }
    })
  })
}
