import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { createCluster, ENDED, expectCall, waitForEvent, waitForTask, type WireTask } from '../support/scale-cluster'

const RUNNER = { concurrency: 2, pollInterval: 0.1, heartbeatInterval: 0.5, heartbeatTimeout: 10, closeTimeout: 2 }

for (const d of dialects()) {
  describe(`canceling across instance processes (${d.name})`, { skip: d.skip }, () => {
    it('a DELETE /tasks/:id sent to one instance stops the publish another is running, through cancelPublishRepo', { timeout: 120_000 }, async () => {
      const cluster = await createCluster(d.name)
      try {
        const instances = await cluster.start(['a', 'b', 'c'], RUNNER)
        const [a] = instances
        await expectCall(a, 'POST', '/repositories', 201, { id: 'r' })
        await expectCall(a, 'POST', '/repositories/r/distributors', 201, { distributor_type_id: 'held', distributor_id: 'held' })
        const task = await expectCall<WireTask>(a, 'POST', '/repositories/r/actions/publish', 202, { id: 'held' })
        const start = await waitForEvent(cluster, (e) => e.event === 'start' && e.taskId === task.task_id, 20_000, 'the publish to start')
        const runner = instances.find((i) => i.name === start.instance)
        const others = instances.filter((i) => i !== runner)
        assert.ok(runner !== undefined && others.length === 2)
        const [sender, reader] = others

        // Queued behind the running one, and canceled from yet another instance: it never runs.
        const queued = await expectCall<WireTask>(reader, 'POST', '/repositories/r/actions/publish', 202, { id: 'held' })
        const canceledWaiting = await expectCall<WireTask>(runner, 'DELETE', `/tasks/${queued.task_id}`, 202)
        assert.equal(canceledWaiting.state, 'canceled')

        const requested = await expectCall<WireTask>(sender, 'DELETE', `/tasks/${task.task_id}`, 202)
        assert.equal(requested.state, 'running')
        assert.equal(requested.cancel_requested, true)

        const ended = await waitForTask(reader, task.task_id, (t) => ENDED.includes(t.state), 20_000, cluster)
        assert.equal(ended.state, 'canceled')
        assert.deepEqual(ended.result, { result: 'canceled', summary: 'stopped by cancelPublishRepo', details: null })
        assert.equal(ended.worker_id, runner.instanceId)

        const events = (await cluster.events()).filter((e) => e.taskId === task.task_id)
        assert.deepEqual(events.map((e) => `${e.event}@${e.instance}#${e.serial}`),
          [`start@${runner.name}#${start.serial}`, `cancel@${runner.name}#${start.serial}`, `stopped@${runner.name}#${start.serial}`],
          'cancelPublishRepo was called once, on the very object running the publish, in its instance')
        assert.equal(events[1].signalAborted, true, 'the signal was aborted before cancelPublishRepo was called')
        assert.equal((await cluster.events()).filter((e) => e.taskId === queued.task_id).length, 0, 'the canceled waiting task never ran')

        const history = await expectCall<{ results: Array<{ task_id: string, result: string }> }>(sender, 'GET', '/repositories/r/history/publish/held', 200)
        assert.deepEqual(history.results.map((h) => [h.task_id, h.result]), [[task.task_id, 'canceled']])
        const again = await call409(sender, task.task_id)
        assert.match(again, /already ended \(canceled\)/)
      } finally {
        await cluster.close()
      }
    })
  })
}

async function call409 (instance: Parameters<typeof expectCall>[0], taskId: string): Promise<string> {
  const body = await expectCall<{ error: { message: string } }>(instance, 'DELETE', `/tasks/${taskId}`, 409)
  return body.error.message
}
