import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { rm } from 'node:fs/promises'
import { createPgDatabase, PG_SKIP_REASON } from '../support/databases'
import { execFileAsync, startScript, stop } from '../support/processes'
import { tempDir } from '../support/pulp'
import { ENDED, expectCall, fetchContent, upload, waitForTask, type Instance, type WireTask } from '../support/scale-cluster'

const SCRIPT = path.join(__dirname, '..', '..', 'examples', 'cluster.ts')

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('examples/cluster.ts', () => {
  it('refuses to start without PULP_DATABASE_URL, saying so, with exit code 2', { timeout: 60_000 }, async () => {
    const env = { ...process.env }
    delete env.PULP_DATABASE_URL
    const failed = await execFileAsync(process.execPath, ['--import', 'tsx', SCRIPT], { env }).then(() => undefined, (err: unknown) => err as { code: number, stderr: string })
    assert.ok(failed !== undefined, 'it exited with an error')
    assert.equal(failed.code, 2)
    assert.match(failed.stderr, /needs PULP_DATABASE_URL/)
  })

  it('runs three instances on one PostgreSQL database: publish on one, read the task on another, fetch from the third', { skip: PG_SKIP_REASON, timeout: 120_000 }, async () => {
    const db = await createPgDatabase()
    const dataDir = await tempDir('pulp-cluster-')
    try {
      const { child, match } = await startScript(SCRIPT, [], {
        PULP_DATABASE_URL: String(db.config.connection), PULP_DATA_DIR: dataDir, PORT: '0', DEBUG: ''
      }, /instance 1: (\S+) \(pid (\d+)\)\ninstance 2: (\S+) \(pid (\d+)\)\ninstance 3: (\S+) \(pid (\d+)\)\n/, 60_000)
      const [one, two, three]: Instance[] = [1, 3, 5].map((k, i) => ({
        name: `instance ${i + 1}`, base: match[k], pid: Number(match[k + 1]), instanceId: '', child, stderr: () => ''
      }))
      try {
        assert.equal(new Set([one.base, two.base, three.base]).size, 3, 'three instances on three ports')
        await expectCall(one, 'POST', '/repositories', 201, { id: 'site' })
        await upload(one, 'site', 'docs/hello.txt', 'hello from the cluster\n')
        await expectCall(one, 'POST', '/repositories/site/distributors', 201, { distributor_type_id: 'web', distributor_id: 'web' })
        const task = await expectCall<WireTask>(one, 'POST', '/repositories/site/actions/publish', 202, { id: 'web' })

        const ended = await waitForTask(two, task.task_id, (t) => ENDED.includes(t.state), 30_000)
        assert.equal(ended.state, 'finished')
        assert.deepEqual(await fetchContent(three, 'site/docs/hello.txt'), { status: 200, text: 'hello from the cluster\n' })
        const status = await Promise.all([one, two, three].map(async (i) => await expectCall<{ database: { dialect: string }, runner: { instance_id: string } }>(i, 'GET', '/status', 200)))
        assert.deepEqual(status.map((s) => s.database.dialect), ['postgresql', 'postgresql', 'postgresql'])
        assert.equal(new Set(status.map((s) => s.runner.instance_id)).size, 3, 'three distinct instances')
      } finally {
        assert.equal(await stop(child), 0, 'SIGTERM stops the cluster cleanly')
      }
      for (const i of [one, two, three]) assert.equal(isRunning(i.pid), false, `${i.name} (pid ${i.pid}) stopped too`)
    } finally {
      await db.drop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
