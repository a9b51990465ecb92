import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { API, api } from '../support/publish-env'
import { serveFile, status, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`/status: remote health and cache bytes (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
    })
    after(async () => { await f?.cleanup() })

    interface StatusBody { remotes: Record<string, Record<string, unknown>>, disk: { distributions: Record<string, number> } }
    const read = async (): Promise<StatusBody> => (await api(f.t).get(`${API}/status`).expect(200)).body as StatusBody

    it('shows each remote up, then down with its failures and retry time once its upstream fails', async () => {
      const body = testBytes(3000)
      let failing = false
      const healthy = serveFile(body)
      const broken = status(503)
      f.upstream.on('/files/ok.bin', async (req, res) => { await (failing ? broken : healthy)(req, res) })
      f.upstream.on('/files/new.bin', async (req, res) => { await (failing ? broken : healthy)(req, res) })
      const { remote, distribution } = await f.wire('health', { maxFailures: 2 })
      await f.t.pulp.remotes.create({ name: 'idle', url: 'http://127.0.0.1:9/' })
      assert.equal((await f.get('health/ok.bin')).status, 200)
      await f.untilHit('health/ok.bin')

      const up = await read()
      assert.deepEqual(up.remotes[remote], { state: 'up', consecutive_failures: 0, down_since: null, retry_at: null })
      assert.deepEqual(up.remotes.idle, { state: 'up', consecutive_failures: 0, down_since: null, retry_at: null }, 'a remote never asked is up')
      assert.equal(up.disk.distributions[distribution], body.length)

      failing = true
      const before = Date.now()
      for (let i = 0; i < 2; i++) assert.equal((await f.get('health/new.bin')).status, 502)
      await eventually(async () => (await read()).remotes[remote].state === 'down', 5000, 'the remote marked down')
      const down = (await read()).remotes[remote]
      assert.equal(down.consecutive_failures, 2)
      assert.ok(Date.parse(String(down.down_since)) >= before - 1000, `down since ${String(down.down_since)}`)
      assert.equal(Date.parse(String(down.retry_at)) - Date.parse(String(down.down_since)), 30_000, 'the first back-off')
      assert.deepEqual(down, (await api(f.t).get(`${API}/remotes/${remote}`).expect(200)).body.health, 'as GET /remotes/:name shows it')
      // What is cached is still served, and still counted.
      assert.equal((await f.get('health/ok.bin')).headers['x-pulp-cache'], 'HIT')
      assert.equal((await read()).disk.distributions[distribution], body.length)
    })
  })
}
