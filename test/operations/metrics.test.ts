import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { register as globalRegistry } from 'prom-client'
import { dialects } from '../support/databases'
import { startPulp } from '../support/pulp'
import { API } from '../support/publish-env'
import { gate, serveFile, status, testBytes } from '../support/upstream-faults'
import { eventually } from '../support/fs-wait'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'
import { parseMetrics, scrapeMetrics } from '../support/metrics-text'

for (const d of dialects()) {
  describe(`metrics (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let remote: string
    let distribution: string
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      ;({ remote, distribution } = await f.wire('mirror'))
    })
    after(async () => { await f?.cleanup() })

    const scrape = async (): Promise<Map<string, number>> => await scrapeMetrics(f.port, API)
    const delta = (a: Map<string, number>, b: Map<string, number>, key: string): number => (b.get(key) ?? 0) - (a.get(key) ?? 0)

    it('counts each content result, served and upstream bytes, upstream statuses and remote health exactly', async () => {
      const body = testBytes(5000)
      f.upstream.on('/files/a.bin', serveFile(body))
      f.upstream.on('/files/down.bin', status(503))
      const published = path.join(f.t.dataDir, 'publish', 'http', 'static')
      await mkdir(published, { recursive: true })
      await writeFile(path.join(published, 's.txt'), 'twelve bytes')

      const first = await scrape()
      assert.equal((await f.get('mirror/a.bin')).status, 200)
      // The probes of untilHit count too (as MISS while the save finishes, then one HIT).
      await f.untilHit('mirror/a.bin')
      const before = await scrape()
      assert.equal((await f.get('static/s.txt')).status, 200)
      assert.equal((await f.get('mirror/a.bin')).status, 200)
      assert.equal((await f.get('mirror/a.bin', { headers: { range: 'bytes=0-99' } })).status, 206)
      assert.equal((await f.get('mirror/nothing.bin')).status, 404)
      assert.equal((await f.get('nowhere/x')).status, 404)
      assert.equal((await f.get('mirror/down.bin')).status, 502)
      const after = await scrape()

      assert.equal(delta(before, after, 'pulp_content_requests_total{result="static"}'), 1)
      assert.equal(delta(before, after, 'pulp_content_requests_total{result="hit"}'), 2)
      assert.equal(delta(before, after, 'pulp_content_requests_total{result="miss"}'), 2, 'nothing.bin and down.bin went upstream')
      assert.equal(delta(before, after, 'pulp_content_requests_total{result="not_found"}'), 1, 'the path no distribution owns')
      assert.equal(delta(before, after, 'pulp_served_bytes_total'), 12 + 5000 + 100)
      assert.equal(delta(first, after, `pulp_upstream_requests_total{remote="${remote}",status="200"}`), 1)
      assert.equal(delta(before, after, `pulp_upstream_requests_total{remote="${remote}",status="404"}`), 1)
      assert.equal(delta(before, after, `pulp_upstream_requests_total{remote="${remote}",status="503"}`), 1)
      assert.equal(delta(first, after, `pulp_upstream_bytes_total{remote="${remote}"}`), 5000)
      assert.equal(after.get(`pulp_remote_up{remote="${remote}"}`), 0, 'the last answer was a 503')
      assert.equal((await f.get('mirror/nothing2.bin')).status, 404)
      assert.equal((await scrape()).get(`pulp_remote_up{remote="${remote}"}`), 1, 'a 404 is an answer')
      for (const result of ['revalidated', 'stale', 'error']) assert.ok(after.has(`pulp_content_requests_total{result="${result}"}`), result)
      assert.ok(after.has('pulp_storage_bytes{kind="artifacts"}'))
      assert.ok(after.has('pulp_storage_bytes{kind="tmp"}'))

      const reported = (await (await fetch(`http://127.0.0.1:${f.port}${API}/status`)).json()) as { disk: { artifacts: number, tmp: number, distributions: Record<string, number> } }
      assert.equal(reported.disk.distributions[distribution], 5000, 'the bytes its pull-through cached')
      assert.equal(reported.disk.artifacts, after.get('pulp_storage_bytes{kind="artifacts"}'))
      assert.equal(typeof reported.disk.tmp, 'number')
    })

    it('counts requests that joined a download under way', async () => {
      const body = testBytes(64 * 1024)
      const held = gate()
      f.upstream.on('/files/slow.bin', serveFile(body, { chunk: 1024, gate: held.promise }))
      const before = await scrape()
      const first = f.get('mirror/slow.bin')
      await eventually(async () => f.upstream.hits('/files/slow.bin') === 1, 5000, 'the download started')
      const joined = [f.get('mirror/slow.bin'), f.get('mirror/slow.bin')]
      // Both joiners are attached before the body is let through.
      await eventually(async () => delta(before, await scrape(), 'pulp_coalesced_requests_total') === 2, 5000, 'two joined')
      held.open()
      for (const res of await Promise.all([first, ...joined])) assert.ok(res.body.equals(body))
      const after = await scrape()
      assert.equal(delta(before, after, 'pulp_coalesced_requests_total'), 2)
      assert.equal(f.upstream.hits('/files/slow.bin'), 1)
      assert.equal(delta(before, after, 'pulp_content_requests_total{result="miss"}'), 3)
    })

    it('counts tasks by state from the database and times publishes', async () => {
      const before = await scrape()
      await f.t.pulp.repositories.create({ id: 'm' })
      await f.t.pulp.distributors.add('m', { distributorTypeId: 'web', distributorConfig: { relative_url: 'm' } })
      const task = await f.t.pulp.publish('m', 'web')
      assert.equal((await f.t.pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished')
      const after = await scrape()
      assert.equal(delta(before, after, 'pulp_tasks{state="finished"}'), 1)
      assert.equal(delta(before, after, 'pulp_publish_duration_seconds_count'), 1)
    })
  })
}

describe('metrics registries', () => {
  it('two instances in one process keep separate counters, none on the global registry', async () => {
    const one = await startPulp({ runner: false })
    const two = await startPulp({ runner: false })
    try {
      const published = path.join(one.dataDir, 'publish', 'http')
      await mkdir(published, { recursive: true })
      await writeFile(path.join(published, 'x.txt'), 'x')
      const server = one.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      const port = (server.address() as { port: number }).port
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/pulp/content/x.txt`)).status, 200)
      server.close()
      assert.ok(one.pulp.metrics !== undefined && two.pulp.metrics !== undefined && one.pulp.metrics !== two.pulp.metrics)
      assert.equal(parseMetrics(await one.pulp.metrics.metrics()).get('pulp_content_requests_total{result="static"}'), 3)
      assert.equal(parseMetrics(await two.pulp.metrics.metrics()).get('pulp_content_requests_total{result="static"}'), 0)
      assert.equal(globalRegistry.getSingleMetric('pulp_content_requests_total'), undefined)
    } finally {
      await one.cleanup()
      await two.cleanup()
    }
  })

  it('metrics: false mounts no /metrics and exposes no registry', async () => {
    const t = await startPulp({ runner: false, metrics: false })
    try {
      assert.equal(t.pulp.metrics, undefined)
      const server = t.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}${API}/metrics`)
      server.close()
      assert.equal(res.status, 404)
    } finally {
      await t.cleanup()
    }
  })
})
