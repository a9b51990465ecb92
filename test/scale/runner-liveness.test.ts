import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { existsSync } from 'node:fs'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import {
  createCluster, ENDED, expectCall, fetchContent, freeze, killInstance, upload, waitForEvent, waitForTask,
  type Cluster, type Instance, type WireTask
} from '../support/scale-cluster'

/** Short heartbeats so that a dead instance is noticed in about two seconds. */
const RUNNER = { concurrency: 1, pollInterval: 0.1, heartbeatInterval: 0.2, heartbeatTimeout: 1.5, closeTimeout: 1 }
/** Generous: the heartbeat timeout plus a slow machine. */
const NOTICED_WITHIN_MS = 20_000

interface Setup {
  victim: Instance
  survivors: Instance[]
  /** The publish of "v2" the victim holds just before activating it. */
  held: WireTask
  workingDir: string
}

/**
 * The victim alone publishes "v1" of site/hello.txt with the web distributor, then starts
 * publishing "v2" and holds it, built but not activated; then two survivors start.
 */
async function victimHoldingAPublish (cluster: Cluster, victimRunner = RUNNER): Promise<Setup> {
  const [victim] = await cluster.start(['victim'], victimRunner)
  await expectCall(victim, 'POST', '/repositories', 201, { id: 'site' })
  await upload(victim, 'site', 'hello.txt', 'v1\n')
  await expectCall(victim, 'POST', '/repositories/site/distributors', 201, {
    distributor_type_id: 'slow-web', distributor_id: 'web', distributor_config: { relative_url: 'site' }
  })
  const first = await expectCall<WireTask>(victim, 'POST', '/repositories/site/actions/publish', 202, { id: 'web' })
  assert.equal((await waitForTask(victim, first.task_id, (t) => ENDED.includes(t.state), 20_000, cluster)).state, 'finished')

  await upload(victim, 'site', 'hello.txt', 'v2\n')
  const held = await expectCall<WireTask>(victim, 'POST', '/repositories/site/actions/publish', 202, { id: 'web', override_config: { hold: true } })
  await waitForEvent(cluster, (e) => e.event === 'hold' && e.taskId === held.task_id, 20_000, 'the victim to hold its publish')
  const workingDir = path.join(cluster.dataDir, 'publications', 'site', 'web', `${held.task_id}.staging`)
  assert.ok(existsSync(path.join(workingDir, 'PULP_MANIFEST')), 'the held publication is built in its working directory')

  const survivors = await cluster.start(['b', 'c'], RUNNER)
  const running = await expectCall<WireTask>(survivors[0], 'GET', `/tasks/${held.task_id}`, 200)
  assert.equal(running.state, 'running')
  assert.equal(running.worker_id, victim.instanceId)
  for (const s of survivors) assert.deepEqual(await fetchContent(s, 'site/hello.txt'), { status: 200, text: 'v1\n' })
  return { victim, survivors, held, workingDir }
}

/** Waits for another instance to mark the held task interrupted, and checks what it leaves. */
async function expectInterrupted (cluster: Cluster, { survivors, held, workingDir }: Setup): Promise<void> {
  const ended = await waitForTask(survivors[0], held.task_id, (t) => t.state !== 'running', NOTICED_WITHIN_MS, cluster)
  assert.equal(ended.state, 'failed')
  assert.equal(ended.error?.code, 'ERR_PULP_TASK_INTERRUPTED')
  assert.match(String(ended.error?.message), /^interrupted/)
  await eventually(() => !existsSync(workingDir), 10_000, 'the working directory to be removed')
  for (const s of survivors) assert.deepEqual(await fetchContent(s, 'site/hello.txt'), { status: 200, text: 'v1\n' }, 'the previous publication is still served')
  const history = await expectCall<{ results: Array<{ task_id: string, result: string, error_message: string }> }>(
    survivors[1], 'GET', '/repositories/site/history/publish/web', 200)
  assert.equal(history.results[0].task_id, held.task_id)
  assert.equal(history.results[0].result, 'error')
  assert.match(history.results[0].error_message, /^interrupted/)
}

/** The distributor publishes again, on a live instance, and everyone serves the new content. */
async function expectPublishable (cluster: Cluster, via: Instance, runners: Instance[], readers: Instance[]): Promise<void> {
  const again = await expectCall<WireTask>(via, 'POST', '/repositories/site/actions/publish', 202, { id: 'web' })
  const ended = await waitForTask(via, again.task_id, (t) => ENDED.includes(t.state), 20_000, cluster)
  assert.equal(ended.state, 'finished')
  assert.ok(runners.some((r) => r.instanceId === ended.worker_id), 'a live instance ran it')
  for (const r of readers) assert.deepEqual(await fetchContent(r, 'site/hello.txt'), { status: 200, text: 'v2\n' })
}

for (const d of dialects()) {
  describe(`an instance that stops mid-publish (${d.name})`, { skip: d.skip }, () => {
    it('killed with SIGKILL on this host: another instance marks its task interrupted, and the old publication stays served', { timeout: 120_000 }, async () => {
      const cluster = await createCluster(d.name)
      try {
        const setup = await victimHoldingAPublish(cluster)
        await killInstance(setup.victim)
        for (const s of setup.survivors) assert.deepEqual(await fetchContent(s, 'site/hello.txt'), { status: 200, text: 'v1\n' })
        await expectInterrupted(cluster, setup)
        await expectPublishable(cluster, setup.survivors[1], setup.survivors, setup.survivors)
      } finally {
        await cluster.close()
      }
    })

    it('killed on another host (no pid to check): its heartbeat going stale is what tells', { timeout: 120_000 }, async () => {
      const cluster = await createCluster(d.name)
      try {
        const setup = await victimHoldingAPublish(cluster)
        // As if it ran elsewhere: the survivors cannot look its pid up and must wait for the heartbeat timeout.
        await cluster.knex('pulp_workers').where({ id: setup.victim.instanceId }).update({ hostname: 'another-host' })
        await killInstance(setup.victim)
        await expectInterrupted(cluster, setup)
        await eventually(async () => await cluster.knex('pulp_workers').where({ id: setup.victim.instanceId }).first() === undefined, 10_000, 'its worker row to be removed')
        await expectPublishable(cluster, setup.survivors[0], setup.survivors, setup.survivors)
      } finally {
        await cluster.close()
      }
    })

    it('frozen (SIGSTOP): interrupted by heartbeat alone; once resumed it neither switches the served tree nor records an end, and beats again', { timeout: 120_000 }, async () => {
      const cluster = await createCluster(d.name)
      try {
        // The victim polls rarely, so on resuming it reaches activation before its runner could
        // notice the task is no longer its own: the conduit's check is what must stop it.
        const setup = await victimHoldingAPublish(cluster, { ...RUNNER, pollInterval: 60 })
        const { victim, survivors, held } = setup
        await freeze(cluster, victim)
        await expectInterrupted(cluster, setup)
        assert.doesNotThrow(() => process.kill(victim.pid, 0), 'the frozen process was alive all along: only its heartbeat told')

        await cluster.release(held.task_id)
        victim.child.kill('SIGCONT')
        const refused = await waitForEvent(cluster, (e) => e.taskId === held.task_id && (e.event === 'refused' || e.event === 'aborted'), NOTICED_WITHIN_MS, 'the resumed victim to give up')
        assert.equal(refused.event, 'refused')
        assert.equal(refused.code, 'ERR_PULP_TASK_INTERRUPTED')
        assert.equal(existsSync(path.join(cluster.dataDir, 'publications', 'site', 'web', held.task_id)), false, 'its publication was never finalized')
        for (const i of [victim, ...survivors]) assert.deepEqual(await fetchContent(i, 'site/hello.txt'), { status: 200, text: 'v1\n' })

        await eventually(async () => await cluster.knex('pulp_workers').where({ id: victim.instanceId }).first() !== undefined, 10_000, 'the victim to beat again')
        const task = await expectCall<WireTask>(victim, 'GET', `/tasks/${held.task_id}`, 200)
        assert.equal(task.state, 'failed', 'the late end was not recorded')
        const history = await expectCall<{ results: Array<{ task_id: string }> }>(victim, 'GET', '/repositories/site/history/publish/web', 200)
        assert.equal(history.results.filter((h) => h.task_id === held.task_id).length, 1)

        await expectPublishable(cluster, survivors[0], [victim, ...survivors], [victim, ...survivors])
      } finally {
        await cluster.close()
      }
    })
  })
}
