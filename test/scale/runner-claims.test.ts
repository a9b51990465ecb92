import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import {
  createCluster, ENDED, expectCall, upload, waitForTask, type Cluster, type Instance, type WireTask
} from '../support/scale-cluster'
import type { ScaleEvent } from '../support/scale-distributors'

const REPOS = 10
const RUNNER = { concurrency: 2, pollInterval: 0.1, heartbeatInterval: 0.5, heartbeatTimeout: 10, closeTimeout: 2 }

/**
 * Per repository, three publishes in this order: a first one, the same again (nothing changed,
 * so it is skipped) and a forced one. Each goes to a different instance.
 */
const SEQUENCE = [
  { override: {}, expected: 'finished' },
  { override: {}, expected: 'skipped' },
  { override: { force_full: true }, expected: 'finished' }
] as const

interface Sent { taskId: string, repo: string, expected: string }

async function setUp (instances: Instance[]): Promise<void> {
  await Promise.all(Array.from({ length: REPOS }, async (_, r) => {
    const via = instances[r % instances.length]
    await expectCall(via, 'POST', '/repositories', 201, { id: `repo-${r}` })
    await upload(via, `repo-${r}`, `files/${r}.txt`, `content of repository ${r}\n`)
    await expectCall(via, 'POST', `/repositories/repo-${r}/distributors`, 201, {
      distributor_type_id: 'recording', distributor_id: 'rec', distributor_config: { ms: 150 }
    })
  }))
}

/** 30 publish requests: the repositories in parallel, each one's three in order, spread over `instances`. */
async function publishAll (instances: Instance[]): Promise<Sent[]> {
  const perRepo = await Promise.all(Array.from({ length: REPOS }, async (_, r) => {
    const sent: Sent[] = []
    for (const [k, step] of SEQUENCE.entries()) {
      const via = instances[(r + k) % instances.length]
      const task = await expectCall<WireTask>(via, 'POST', `/repositories/repo-${r}/actions/publish`, 202, { id: 'rec', override_config: step.override })
      sent.push({ taskId: task.task_id, repo: `repo-${r}`, expected: step.expected })
    }
    return sent
  }))
  return perRepo.flat()
}

/** Every task ended as expected, ran once, and never beside another publish of its distributor. */
async function checkRuns (cluster: Cluster, instances: Instance[], sent: Sent[], runners: Instance[]): Promise<void> {
  const ended = await Promise.all(sent.map(async (s, i) =>
    await waitForTask(instances[(i + 1) % instances.length], s.taskId, (t) => ENDED.includes(t.state), 30_000, cluster)))
  assert.deepEqual(ended.map((t) => t.state), sent.map((s) => s.expected), 'each task ended as its place in the sequence says')

  const events = (await cluster.events()).filter((e) => e.type === 'recording')
  const ran = sent.filter((s) => s.expected === 'finished').map((s) => s.taskId).sort()
  const starts = events.filter((e) => e.event === 'start')
  assert.deepEqual(starts.map((e) => e.taskId).sort(), ran, 'every finished task started exactly once, and no skipped one started')
  assert.deepEqual(events.filter((e) => e.event === 'end').map((e) => e.taskId).sort(), ran)
  assert.equal(events.filter((e) => e.event === 'cancel').length, 0)

  const runnerIds = new Map(runners.map((i) => [i.name, i.instanceId]))
  for (const start of starts) {
    assert.ok(runnerIds.has(start.instance), `${start.taskId} ran on ${start.instance}, an instance with a runner`)
    const task = ended.find((t) => t.task_id === start.taskId)
    assert.equal(task?.worker_id, runnerIds.get(start.instance), 'the task names the instance that ran it')
  }
  assert.ok(new Set(starts.map((e) => e.instance)).size >= 2, 'the work was shared between instances')

  for (let r = 0; r < REPOS; r++) {
    const runs = pairs(events.filter((e) => e.repo === `repo-${r}`))
    assert.equal(runs.length, 2)
    for (let k = 1; k < runs.length; k++) {
      assert.ok(runs[k].start >= runs[k - 1].end,
        `repo-${r}: ${runs[k].taskId} (on ${runs[k].instance}) started before ${runs[k - 1].taskId} (on ${runs[k - 1].instance}) ended`)
    }
    const history = await expectCall<{ results: Array<{ result: string }> }>(instances[r % instances.length], 'GET', `/repositories/repo-${r}/history/publish/rec`, 200)
    assert.deepEqual(history.results.map((h) => h.result), ['success', 'skipped', 'success'])
  }
}

/** Start and end of each run, in start order. */
function pairs (events: ScaleEvent[]): Array<{ taskId: string, instance: string, start: number, end: number }> {
  const starts = events.filter((e) => e.event === 'start')
  return starts.map((s) => {
    const end = events.find((e) => e.event === 'end' && e.taskId === s.taskId)
    assert.ok(end, `${s.taskId} ended`)
    return { taskId: s.taskId, instance: s.instance, start: s.at, end: end.at }
  }).sort((a, b) => a.start - b.start)
}

for (const d of dialects()) {
  describe(`claiming publish tasks across instance processes (${d.name})`, { skip: d.skip }, () => {
    it('runs 30 publishes over 10 repositories on 3 instances: each once, one at a time per distributor', { timeout: 120_000 }, async () => {
      const cluster = await createCluster(d.name)
      try {
        const instances = await cluster.start(['a', 'b', 'c'], RUNNER)
        await setUp(instances)
        const sent = await publishAll(instances)
        await checkRuns(cluster, instances, sent, instances)
      } finally {
        await cluster.close()
      }
    })

    it('leaves the work to the instances with a runner when one is API-only (runner: false)', { timeout: 120_000 }, async () => {
      const cluster = await createCluster(d.name)
      try {
        const [apiOnly] = await cluster.start(['api-only'], false)
        const runners = await cluster.start(['b', 'c'], RUNNER)
        const instances = [apiOnly, ...runners]
        const status = await expectCall<{ runner: { state: string } }>(apiOnly, 'GET', '/status', 200)
        assert.equal(status.runner.state, 'disabled')
        await setUp(instances)
        const sent = await publishAll(instances)
        await checkRuns(cluster, instances, sent, runners)
        assert.equal((await cluster.events()).filter((e) => e.instance === 'api-only').length, 0, 'the API-only instance ran nothing')
      } finally {
        await cluster.close()
      }
    })
  })
}
