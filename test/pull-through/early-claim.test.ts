import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import { openConnection } from '../../lib/storage/connection'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { gate, serveFile, testBytes } from '../support/upstream-faults'
import { ChangingFile } from '../support/upstream-metadata'
import { fetchRaw, startPullThrough, startSecondInstance, type PullThroughFixture } from '../support/upstream-pulp'

// A path not remembered in memory has its lease claimed while the database is looked up (a
// cold pull's upstream request then waits on both at once), and an expired copy remembered
// here has its revalidation's lease claimed while the request is decided. When the lookup
// finds the path kept, or the remote is down, no download follows: the lease must be let go,
// or every other instance would wait on a path nobody fetches.
for (const d of dialects()) {
  describe(`the lease claimed beside the lookup (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let knex: Knex
    // A failure's row stays a while for the instances that waited on it; it holds nothing.
    const leases = async (): Promise<number> => (await knex('pulp_pull_downloads').whereNot({ state: 'failed' }).count({ n: '*' }))[0].n as number
    const noLeaseLeft = async (): Promise<void> => {
      await eventually(async () => Number(await leases()) === 0, 5000, 'every lease to be let go')
    }

    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('early', { negativeCacheTtl: 600, dir: 'early/' })
      knex = openConnection(f.t.database, f.t.dataDir).knex
    })
    after(async () => {
      await knex?.destroy()
      await f?.cleanup()
    })

    it('lets go of it when another instance finds the path saved, and still serves the HIT', async () => {
      const body = testBytes(8192)
      f.upstream.on('/early/saved.bin', serveFile(body))
      assert.equal((await f.get('early/saved.bin')).status, 200)
      await f.untilHit('early/saved.bin')
      const other = await startSecondInstance(f)
      try {
        const res = await fetchRaw(other.port, '/pulp/content/early/saved.bin')
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], 'HIT')
        assert.ok(res.body.equals(body))
        await noLeaseLeft()
        assert.equal(f.upstream.hits('/early/saved.bin', 'GET'), 1)
      } finally {
        await other.close()
      }
    })

    it('lets go of it for a remembered 404, so that another instance may fetch the path at once', async () => {
      assert.equal((await f.get('early/later.bin')).status, 404)
      const other = await startSecondInstance(f)
      try {
        const remembered = await fetchRaw(other.port, '/pulp/content/early/later.bin')
        assert.equal(remembered.status, 404)
        assert.equal(remembered.headers['x-pulp-cache'], 'HIT')
        await noLeaseLeft()
      } finally {
        await other.close()
      }
      assert.equal(f.upstream.hits('/early/later.bin'), 1)
    })

    it('lets go of an expired copy\'s claim when its remote is down, and serves the copy as STALE', async () => {
      const file = new ChangingFile('index, generation 1\n')
      f.upstream.on('/meta/index.txt', file.handler)
      const { remote } = await f.wire('meta', { dir: 'meta/', metadataPatterns: ['**'], metadataTtl: 0, staleIfError: 600, maxFailures: 1 })
      assert.equal((await f.get('meta/index.txt')).status, 200)
      // Saved: the next request revalidates (a 304), which it can only do from a copy.
      await eventually(async () => (await f.get('meta/index.txt')).headers['x-pulp-cache'] === 'REVALIDATED', 5000, 'a revalidation')
      await noLeaseLeft()
      file.mode = { kind: 'status', code: 503 }
      const failed = await f.get('meta/index.txt')
      assert.equal(failed.headers['x-pulp-cache'], 'STALE', 'the one failure that marks the remote down')
      // Recorded after the client heard.
      await eventually(async () => (await f.t.pulp.remotes.get(remote)).health?.state === 'down', 5000, 'the remote to be marked down')
      await noLeaseLeft()
      const asked = f.upstream.hits('/meta/index.txt')
      const res = await f.get('meta/index.txt')
      assert.equal(res.status, 200)
      assert.equal(res.headers['x-pulp-cache'], 'STALE')
      assert.match(String(res.headers['cache-status']), /detail=upstream-down/)
      assert.equal(res.body.toString(), 'index, generation 1\n')
      assert.equal(f.upstream.hits('/meta/index.txt'), asked, 'a remote marked down is not asked')
      await noLeaseLeft()
    })

    it('hands an expired copy\'s claim to its revalidation: one conditional request for requests of two instances', async () => {
      const file = new ChangingFile('packument, generation 1\n')
      f.upstream.on('/fresh/index.json', file.handler)
      await f.wire('fresh', { dir: 'fresh/', metadataPatterns: ['**'], metadataTtl: 1 })
      assert.equal((await f.get('fresh/index.json')).status, 200)
      await f.untilHit('fresh/index.json')
      const other = await startSecondInstance(f)
      try {
        // Both instances remember the copy, so both decide from memory once it expires.
        assert.equal((await fetchRaw(other.port, '/pulp/content/fresh/index.json')).headers['x-pulp-cache'], 'HIT')
        await sleep(1100)
        const before = file.count(304)
        file.delay = 300
        const results = await Promise.all([
          f.get('fresh/index.json'), f.get('fresh/index.json'),
          fetchRaw(other.port, '/pulp/content/fresh/index.json'), fetchRaw(other.port, '/pulp/content/fresh/index.json')
        ])
        file.delay = 0
        for (const r of results) {
          assert.equal(r.status, 200)
          assert.equal(r.body.toString(), 'packument, generation 1\n')
        }
        assert.ok(results.some((r) => r.headers['x-pulp-cache'] === 'REVALIDATED'), 'the copy was revalidated')
        assert.equal(file.count(304) - before, 1, 'one conditional request across both instances')
        await noLeaseLeft()
      } finally {
        await other.close()
      }
    })

    it('revalidates an always-expired copy once per request when each comes as the one before is answered', async () => {
      const file = new ChangingFile('release, generation 1\n')
      f.upstream.on('/zero/Release', file.handler)
      const { remote } = await f.wire('zero', { dir: 'zero/', metadataPatterns: ['**'], metadataTtl: 0 })
      assert.equal((await f.get('zero/Release')).status, 200)
      await eventually(async () => (await f.get('zero/Release')).headers['x-pulp-cache'] === 'REVALIDATED', 5000, 'a revalidation')
      // Each request comes as soon as the one before it was answered, mostly while that one's
      // renewal is still being recorded (after its client heard): it waits for that record to
      // let the lease go, then asks the upstream itself (a revalidation that ended before it
      // was made is not its answer), and leaves no lease behind.
      for (let i = 0; i < 25; i++) {
        if (i === 15) file.replace('release, generation 2, longer\n')
        const asked = f.upstream.hits('/zero/Release')
        const res = await f.get('zero/Release')
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], i === 15 ? 'MISS' : 'REVALIDATED', `request ${i}`)
        assert.equal(res.body.toString(), i < 15 ? 'release, generation 1\n' : 'release, generation 2, longer\n', `request ${i}`)
        assert.equal(f.upstream.hits('/zero/Release') - asked, 1, `request ${i}: one upstream request`)
        if (i === 15) await eventually(async () => (await f.get('zero/Release')).headers['x-pulp-cache'] === 'REVALIDATED', 5000, 'the new copy saved')
      }
      await noLeaseLeft()
      const last = await knex('pulp_pull_entries').where({ remote_name: remote, relative_path: 'Release' }).first('fetched')
      assert.ok(Date.parse(String(last?.fetched)) >= Date.now() - 5000, 'the last renewal was recorded')
    })

    it('hands it to the download when the path is cold: one upstream fetch for requests arriving together', async () => {
      const body = testBytes(256 * 1024)
      const held = gate()
      f.upstream.on('/early/cold.bin', serveFile(body, { chunk: 64 * 1024, gate: held.promise }))
      const other = await startSecondInstance(f)
      try {
        const asked = [
          f.get('early/cold.bin'), f.get('early/cold.bin'),
          fetchRaw(other.port, '/pulp/content/early/cold.bin'), fetchRaw(other.port, '/pulp/content/early/cold.bin')
        ]
        await eventually(async () => f.upstream.hits('/early/cold.bin', 'GET') === 1, 5000, 'the upstream to be asked')
        held.open()
        for (const res of await Promise.all(asked)) {
          assert.equal(res.status, 200)
          assert.ok(res.body.equals(body))
        }
        assert.equal(f.upstream.hits('/early/cold.bin', 'GET'), 1, 'one fetch across both instances')
        await f.untilHit('early/cold.bin')
        await noLeaseLeft()
      } finally {
        await other.close()
      }
    })
  })
}
