import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { countRows } from '../support/scale-pull-artifacts'
import { startPullCluster, type PullCluster } from '../support/scale-pull-cluster'
import { gate, serveFile, status, testBytes } from '../support/upstream-faults'
import { sha256, type FetchResult } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`pull-through across three instances (${d.name})`, { skip: d.skip }, () => {
    let c: PullCluster
    before(async () => {
      c = await startPullCluster({
        dialect: d.name,
        instances: 3,
        setup: async (pulp, upstream) => {
          await pulp.repositories.create({ id: 'cache' })
          await pulp.remotes.create({ name: 'up', url: upstream.url('files/') })
          await pulp.distributions.create({ name: 'mirror', basePath: 'mirror', remote: 'up', repository: 'cache' })
        }
      })
    })
    after(async () => { await c?.stop() })

    /** Every instance has let go of its downloads: no lease row, no temp file. */
    async function settled (): Promise<void> {
      await eventually(async () => await countRows(c.knex, 'pulp_pull_downloads') === 0 && (await c.tmpFiles()).length === 0,
        20_000, 'every download to be let go')
    }

    async function assertSavedOnce (relativePath: string, body: Buffer): Promise<void> {
      assert.equal(await countRows(c.knex, 'pulp_remote_artifacts', { remote_name: 'up', relative_path: relativePath }), 1)
      assert.equal(await countRows(c.knex, 'pulp_units', { relative_path: relativePath }), 1, 'one unit')
      assert.equal(await countRows(c.knex, 'pulp_artifacts', { sha256: sha256(body) }), 1)
      const [unit] = await c.knex('pulp_units').where({ relative_path: relativePath }).pluck('id') as string[]
      assert.equal(await countRows(c.knex, 'pulp_repository_units', { repository_id: 'cache', unit_id: unit }), 1, 'one association')
    }

    it('answers 60 concurrent misses spread over 3 instances with one upstream fetch and one unit', async () => {
      const body = testBytes(4 * 1024 * 1024)
      const held = gate()
      c.upstream.on('/files/big.bin', serveFile(body, { chunk: 64 * 1024, gate: held.promise }))
      let started = 0
      const clients: Array<Promise<FetchResult>> = []
      for (let i = 0; i < 60; i++) clients.push(c.get(i % 3, 'mirror/big.bin', { onResponse: () => { started++ } }))
      // Every client, on every instance, has its status while the upstream still holds the body.
      await eventually(() => started === 60, 30_000, '60 responses under way')
      held.open()
      const results = await Promise.all(clients)
      for (const r of results) {
        assert.equal(r.status, 200)
        assert.equal(r.headers['x-pulp-cache'], 'MISS')
        assert.equal(r.headers['content-length'], String(body.length))
        assert.ok(r.complete)
        assert.ok(r.body.equals(body), 'byte-identical to the source')
      }
      assert.equal(c.upstream.hits('/files/big.bin', 'GET'), 1)
      await settled()
      await assertSavedOnce('big.bin', body)
      for (let i = 0; i < 3; i++) {
        const hit = await c.get(i, 'mirror/big.bin')
        assert.equal(hit.headers['x-pulp-cache'], 'HIT', `instance ${i} serves the saved copy`)
        assert.ok(hit.body.equals(body))
      }
      assert.equal(c.upstream.hits('/files/big.bin', 'GET'), 1)
    })

    it('lets go of a failed download, so the next request on another instance asks again', async () => {
      const body = testBytes(100_000)
      c.upstream.on('/files/flaky.bin', status(503))
      const failed = await c.get(0, 'mirror/flaky.bin')
      assert.equal(failed.status, 502)
      c.upstream.on('/files/flaky.bin', serveFile(body))
      const retried = await c.get(1, 'mirror/flaky.bin')
      assert.equal(retried.status, 200)
      assert.ok(retried.body.equals(body))
      assert.equal(c.upstream.hits('/files/flaky.bin', 'GET'), 2)
      await settled()
      await assertSavedOnce('flaky.bin', body)
    })

    it('takes over from a leader killed mid-download: its follower is cut, a later request fetches again and saves once', async () => {
      const body = testBytes(2 * 1024 * 1024)
      let gets = 0
      c.upstream.on('/files/crash.bin', async (req, res) => {
        if (req.method === 'GET' && ++gets === 1) {
          // The first fetch sends a little and then nothing: its instance dies meanwhile.
          res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' })
          res.write(body.subarray(0, 64 * 1024))
          return
        }
        await serveFile(body, { chunk: 64 * 1024 })(req, res)
      })
      let leading = false
      const leader = c.get(0, 'mirror/crash.bin', { onResponse: () => { leading = true } }).catch(() => undefined)
      await eventually(() => leading, 10_000, 'the leader under way')
      let following = false
      const follower = c.get(1, 'mirror/crash.bin', { onResponse: () => { following = true } })
      await eventually(() => following, 10_000, 'a client of another instance following the leader')

      await c.crash(0)
      assert.notEqual((await leader)?.complete, true)
      const cut = await follower
      assert.equal(cut.complete, false, 'a follower of a dead leader is cut, never handed a short body that looks whole')
      assert.ok(cut.body.length < body.length)

      let later: FetchResult | undefined
      // PostgreSQL frees the dead leader's lock at once; a SQLite lease first has to run out.
      await eventually(async () => {
        later = await c.get(2, 'mirror/crash.bin')
        return later.status === 200 && later.complete
      }, 40_000, 'a later request to succeed')
      assert.ok(later?.body.equals(body))
      assert.equal(c.upstream.hits('/files/crash.bin', 'GET'), 2, 'one fetch by the dead leader, one by its successor')
      // The successor also removed the partial file the dead leader left in tmp/.
      await settled()
      await assertSavedOnce('crash.bin', body)
    })
  })
}
