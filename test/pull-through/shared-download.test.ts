import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { gate, serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type FetchResult, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`one upstream fetch per miss (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('shared')
    })
    after(async () => { await f?.cleanup() })

    it('serves 50 concurrent clients from one upstream fetch, each with the whole body', async () => {
      const body = testBytes(2 * 1024 * 1024)
      const held = gate()
      f.upstream.on('/files/big.bin', serveFile(body, { chunk: 64 * 1024, gate: held.promise }))
      let started = 0
      const clients: Array<Promise<FetchResult>> = []
      for (let i = 0; i < 50; i++) clients.push(f.get('shared/big.bin', { onResponse: () => { started++ } }))
      // Every client has its status while the upstream is still held after its first chunk.
      await eventually(() => started === 50, 10_000, '50 responses under way')
      held.open()
      const results = await Promise.all(clients)
      for (const r of results) {
        assert.equal(r.status, 200)
        assert.equal(r.headers['x-pulp-cache'], 'MISS')
        assert.ok(r.complete)
        assert.ok(r.body.equals(body), 'byte-identical to the source')
      }
      assert.equal(f.upstream.hits('/files/big.bin'), 1)
      await eventually(async () => await f.stored(body), 5000, 'the artifact')
    })

    it('gives late joiners the body from byte 0 and a range joiner its range', async () => {
      const body = testBytes(512 * 1024)
      const held = gate()
      f.upstream.on('/files/late.bin', serveFile(body, { chunk: 100_000, gate: held.promise }))
      let leaderStarted = false
      const leader = f.get('shared/late.bin', { onResponse: () => { leaderStarted = true } })
      await eventually(() => leaderStarted, 5000, 'the leader under way')
      let joined = 0
      const late = f.get('shared/late.bin', { onResponse: () => { joined++ } })
      const ranged = f.get('shared/late.bin', { headers: { range: 'bytes=50000-299999' }, onResponse: () => { joined++ } })
      await eventually(() => joined === 2, 5000, 'the joiners under way')
      held.open()
      const [a, b, r] = await Promise.all([leader, late, ranged])
      assert.ok(a.body.equals(body))
      assert.ok(b.body.equals(body))
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-range'], `bytes 50000-299999/${body.length}`)
      assert.ok(r.body.equals(body.subarray(50000, 300000)))
      assert.equal(f.upstream.hits('/files/late.bin'), 1)
    })

    it('keeps downloading and saves when a client leaves half way', async () => {
      const body = testBytes(1024 * 1024)
      const held = gate()
      f.upstream.on('/files/leave.bin', serveFile(body, { chunk: 64 * 1024, gate: held.promise }))
      const leaving = f.get('shared/leave.bin', { abortAfter: 1 })
      const staying = f.get('shared/leave.bin')
      const gone = await leaving
      assert.equal(gone.complete, false)
      held.open()
      const kept = await staying
      assert.ok(kept.body.equals(body))
      await f.untilHit('shared/leave.bin')
      assert.ok(await f.stored(body))
      assert.equal(f.upstream.hits('/files/leave.bin'), 1)
    })

    it('finishes and saves the download when its only client leaves', async () => {
      const body = testBytes(256 * 1024)
      const held = gate()
      f.upstream.on('/files/alone.bin', serveFile(body, { chunk: 32 * 1024, gate: held.promise }))
      const gone = await f.get('shared/alone.bin', { abortAfter: 1 })
      assert.equal(gone.complete, false)
      held.open()
      await eventually(async () => await f.stored(body), 5000, 'the artifact')
      const hit = await f.get('shared/alone.bin')
      assert.ok(hit.body.equals(body))
      assert.equal(f.upstream.hits('/files/alone.bin'), 1)
    })
  })
}
