import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { existsSync } from 'node:fs'
import { readFile, readlink } from 'node:fs/promises'
import { dialects } from '../support/databases'
import { startScript } from '../support/processes'
import { API, api, sharedDatabase, startOn } from '../support/publish-env'
import { heldWebDistributor } from '../support/publish-distributors'

const CHILD = path.join(__dirname, '..', 'support', 'activation-child.ts')

for (const d of dialects()) {
  describe(`a crash at the activation step of a publish (${d.name})`, { skip: d.skip }, () => {
    for (const at of ['after', 'before'] as const) {
      const swapped = at === 'after'
      it(`records ${swapped ? 'the served publication as the success' : 'the publish as interrupted, the previous one still served,'} when killed ${at} the link switch`, async () => {
        const db = await sharedDatabase(d.name)
        try {
          const { child, match } = await startScript(CHILD, [], {
            PULP_CHILD_DATA_DIR: db.dataDir, PULP_CHILD_DATABASE: db.describe(), PULP_CHILD_AT: at, DEBUG: ''
          }, /HELD (\S+)/)
          const [, taskId] = match
          const exited = new Promise((resolve) => child.once('exit', resolve))
          child.kill('SIGKILL')
          await exited
          const link = path.join(db.dataDir, 'publish', 'http', 'act')
          const servedBefore = await readlink(link)
          assert.equal(path.basename(servedBefore) === taskId, swapped, `the link serves the held publish: ${String(swapped)}`)

          const t = await startOn(db, { runner: { pollInterval: 0.05 }, plugins: [{ distributors: [heldWebDistributor()] }] })
          try {
            const task = await t.pulp.tasks.get(taskId)
            const history = (await api(t).get(`${API}/repositories/act/history/publish/web`).expect(200)).body.results
            const last = history.find((h: { task_id: string }) => h.task_id === taskId)
            assert.equal(await readlink(link), servedBefore, 'recovery switches nothing')
            if (swapped) {
              assert.equal(task.state, 'finished', JSON.stringify(task))
              assert.equal(task.error, null)
              assert.equal((task.result as { result: string }).result, 'success')
              assert.match(String((task.result as { summary: string }).summary), /activated and is served \(at http\/act\)/)
              assert.equal(last.result, 'success')
              assert.equal(await readFile(path.join(link, 'w.txt'), 'utf8'), 'two')
              assert.equal((await api(t).get('/pulp/content/act/w.txt').expect(200)).text, 'two')
              // The report died with the process: the next publish runs (not skipped) and completes it.
              const next = await t.pulp.tasks.wait((await t.pulp.publish('act', 'web')).taskId, { timeout: 10 })
              assert.equal(next.state, 'finished')
            } else {
              assert.equal(task.state, 'failed')
              assert.equal(task.error?.code, 'ERR_PULP_TASK_INTERRUPTED')
              assert.equal(last.result, 'error')
              assert.equal(existsSync(path.join(link, 'w.txt')), false)
              assert.equal((await api(t).get('/pulp/content/act/v.txt').expect(200)).text, 'one')
              assert.equal(existsSync(path.join(db.dataDir, 'publications', 'act', 'web', `${taskId}.staging`)), false, 'the working directory is gone')
            }
          } finally {
            await t.cleanup()
          }
        } finally {
          await db.drop()
        }
      })
    }
  })
}
