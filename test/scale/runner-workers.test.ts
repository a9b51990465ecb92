import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { Knex } from 'knex'
import { isAlive, localHost, type Observer } from '../../lib/publish/recovery'
import { openConnection } from '../../lib/storage/connection'
import { migrateLatest } from '../../lib/storage/migrations'
import { beat, databaseNow, findWorkers, removeWorker, type Worker } from '../../lib/storage/workers'
import { createPgDatabase, dialects, type TestDatabase } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { tempDir } from '../support/pulp'
import { API, api, sharedDatabase, startOn, waitForState } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** The pid of a process that has exited: nobody answers to it (barring reuse, which takes a while). */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid as number
}

describe('isAlive: how a runner judges another instance', () => {
  const host = localHost()
  const observer: Observer = { host, pid: process.pid, now: Date.parse('2030-01-01T00:00:10.000Z') }
  const worker = (w: Partial<Worker>): Worker => ({ id: 'w', hostname: host, pid: process.pid, started: '2030-01-01T00:00:00.000Z', heartbeat: '2030-01-01T00:00:09.000Z', ...w })

  it('takes a worker whose heartbeat is older than the timeout for dead, wherever it runs', () => {
    assert.equal(isAlive(worker({ hostname: 'elsewhere', heartbeat: '2030-01-01T00:00:04.999Z' }), 5, observer), false)
    assert.equal(isAlive(worker({ hostname: 'elsewhere', heartbeat: '2030-01-01T00:00:05.000Z' }), 5, observer), true)
    assert.equal(isAlive(undefined, 5, observer), false, 'a worker without a row is dead')
  })

  it('looks a fresh worker\'s pid up only where this process can see it', async () => {
    const pid = await deadPid()
    assert.equal(isAlive(worker({ pid }), 5, observer), false, 'same host: a pid that is gone is a dead worker, at once')
    assert.equal(isAlive(worker({ pid: process.pid }), 5, observer), true)
    assert.equal(isAlive(worker({ hostname: 'elsewhere', pid }), 5, observer), true, 'another host: only the heartbeat tells')
  })

  it('tells containers (or cloned machines) with the same hostname apart', { skip: localHost() === os.hostname() ? 'localHost() is the bare hostname off Linux' : false }, async () => {
    assert.ok(host.startsWith(os.hostname() + ' '))
    assert.equal(isAlive(worker({ hostname: os.hostname(), pid: await deadPid() }), 5, observer), true,
      'the same hostname in another pid namespace or boot: its pid means nothing here')
  })
})

for (const d of dialects()) {
  describe(`worker rows (${d.name})`, { skip: d.skip }, () => {
    let knex: Knex
    let dir: string
    let pg: TestDatabase | undefined
    before(async () => {
      dir = await tempDir()
      pg = d.name === 'postgresql' ? await createPgDatabase() : undefined
      knex = openConnection(pg?.config, dir).knex
      await migrateLatest(knex)
    })
    after(async () => {
      await knex?.destroy()
      await pg?.drop()
      await rm(dir, { recursive: true, force: true })
    })
    const dialect = d.name

    it('beats on the database server\'s clock, in the format of every timestamp column', async () => {
      await beat(knex, dialect, { id: 'clock', hostname: 'h', pid: 1 })
      const [w] = (await findWorkers(knex, ['clock'])).values()
      assert.match(w.heartbeat, ISO)
      assert.ok(Math.abs(await databaseNow(knex, dialect) - Date.parse(w.heartbeat)) < 5000)
    })

    it('brings back the row of a worker that was taken for dead when it beats again', async () => {
      await beat(knex, dialect, { id: 'frozen', hostname: 'h', pid: 7 })
      await removeWorker(knex, 'frozen')
      assert.equal((await findWorkers(knex, ['frozen'])).size, 0)
      await beat(knex, dialect, { id: 'frozen', hostname: 'h', pid: 7 })
      const w = (await findWorkers(knex, ['frozen'])).get('frozen')
      assert.deepEqual([w?.hostname, w?.pid], ['h', 7])
    })

    it('keeps the row of a worker that beat after it was seen stale', async () => {
      await beat(knex, dialect, { id: 'slow', hostname: 'h', pid: 8 })
      await knex('pulp_workers').where({ id: 'slow' }).update({ heartbeat: '2000-01-01T00:00:00.000Z' })
      const seen = (await findWorkers(knex, ['slow'])).get('slow')?.heartbeat
      await beat(knex, dialect, { id: 'slow', hostname: 'h', pid: 8 })
      await removeWorker(knex, 'slow', seen)
      assert.equal((await findWorkers(knex, ['slow'])).size, 1, 'it beat since: not removed')
      await removeWorker(knex, 'slow', (await findWorkers(knex, ['slow'])).get('slow')?.heartbeat)
      assert.equal((await findWorkers(knex, ['slow'])).size, 0)
    })
  })

  describe(`recovery's housekeeping (${d.name})`, { skip: d.skip }, () => {
    it('forgets the rows of instances that stopped beating, and keeps the live ones', async () => {
      const db = await sharedDatabase(d.name)
      const t = await startOn(db, { runner: { pollInterval: 0.05, heartbeatInterval: 0.05, heartbeatTimeout: 1 } })
      try {
        const self = (await t.pulp.status()).runner.instanceId
        // A crashed idle instance: no task points at it, only its row is left.
        const knex = openConnection(db.config, db.dataDir).knex
        try {
          await knex('pulp_workers').insert({ id: 'gone', hostname: 'elsewhere', pid: 1, started: '2000-01-01T00:00:00.000Z', heartbeat: '2000-01-01T00:00:00.000Z' })
          await eventually(async () => (await findWorkers(knex, ['gone'])).size === 0, 10_000, 'the stale row to be pruned')
          assert.equal((await findWorkers(knex, [self])).size, 1)
        } finally {
          await knex.destroy()
        }
      } finally {
        await t.cleanup()
        await db.drop()
      }
    })
  })

  describe(`close() with a publish that will not stop (${d.name})`, { skip: d.skip }, () => {
    it('marks it interrupted with a history entry, and removes its working directory', async () => {
      const db = await sharedDatabase(d.name)
      let workingDir = ''
      const deaf = scriptedDistributor({
        id: 'deaf',
        publish: async ({ conduit }) => {
          workingDir = conduit.workingDir
          await new Promise(() => {})
          return conduit.buildSuccessReport()
        }
      })
      const t = await startOn(db, { runner: { pollInterval: 0.05, closeTimeout: 0.1 }, plugins: [{ distributors: [deaf.Class] }] })
      let taskId: string
      try {
        await t.pulp.repositories.create({ id: 'r' })
        await t.pulp.distributors.add('r', { distributorTypeId: 'deaf' })
        taskId = (await t.pulp.publish('r', 'deaf')).taskId
        await waitForState(t, taskId, ['running'])
        await eventually(() => deaf.probe.published.length === 1, 10_000, 'publishRepo to be entered')
      } finally {
        await t.cleanup()
      }
      assert.equal(deaf.probe.canceled.length, 1, 'it was asked to cancel first')
      assert.ok(workingDir.startsWith(path.join(db.dataDir, 'publications')))
      assert.equal(existsSync(workingDir), false)
      const afterwards = await startOn(db, { runner: false })
      try {
        const task = await afterwards.pulp.tasks.get(taskId)
        assert.equal(task.state, 'failed')
        assert.equal(task.error?.code, 'ERR_PULP_TASK_INTERRUPTED')
        assert.match(String(task.error?.message), /the instance closed/)
        const history = await api(afterwards).get(`${API}/repositories/r/history/publish/deaf`).expect(200)
        assert.deepEqual(history.body.results.map((h: { task_id: string, result: string }) => [h.task_id, h.result]), [[taskId, 'error']])
      } finally {
        await afterwards.cleanup()
        await db.drop()
      }
    })
  })
}
