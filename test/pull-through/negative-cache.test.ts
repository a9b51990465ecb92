import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { fetchRaw, startPullThrough, startSecondInstance, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`negative caching (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let longRemote: string
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('neg', { negativeCacheTtl: 0.5, dir: 'neg/' })
      longRemote = (await f.wire('neglong', { negativeCacheTtl: 600, dir: 'neg/' })).remote
      await f.wire('noneg', { negativeCacheTtl: 0, dir: 'noneg/' })
    })
    after(async () => { await f?.cleanup() })

    it('remembers an upstream 404 for negative_cache_ttl, then asks again', async () => {
      const first = await f.get('neg/late.bin')
      assert.equal(first.status, 404)
      assert.equal(first.headers['x-pulp-cache'], 'MISS')
      const remembered = await f.get('neg/late.bin')
      assert.equal(remembered.status, 404)
      assert.equal(remembered.headers['x-pulp-cache'], 'HIT')
      assert.equal(f.upstream.hits('/neg/late.bin'), 1, 'a remembered 404 does not reach the upstream')

      const body = testBytes(4096)
      f.upstream.on('/neg/late.bin', serveFile(body))
      let res = remembered
      await eventually(async () => { res = await f.get('neg/late.bin'); return res.status === 200 }, 5000, 'the 404 to expire')
      assert.ok(res.body.equals(body))
      assert.equal(f.upstream.hits('/neg/late.bin', 'GET'), 2)
    })

    it('remembers a 404 from HEAD too', async () => {
      assert.equal((await f.get('neg/head.bin', { method: 'HEAD' })).status, 404)
      assert.equal((await f.get('neg/head.bin')).headers['x-pulp-cache'], 'HIT')
      assert.equal(f.upstream.hits('/neg/head.bin'), 1)
    })

    it('forgets remembered 404s when the remote is updated', async () => {
      assert.equal((await f.get('neglong/updated.bin')).status, 404)
      f.upstream.on('/neg/updated.bin', serveFile(Buffer.from('now here')))
      assert.equal((await f.get('neglong/updated.bin')).status, 404, 'remembered for 600 s')
      await f.t.pulp.remotes.update(longRemote, { headers: { 'x-changed': '1' } })
      const res = await f.get('neglong/updated.bin')
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), 'now here')
    })

    it('keeps remembered 404s in the database: a restarted instance still knows them', async () => {
      assert.equal((await f.get('neglong/restart.bin')).status, 404)
      const again = await startSecondInstance(f)
      try {
        const res = await fetchRaw(again.port, '/pulp/content/neglong/restart.bin')
        assert.equal(res.status, 404)
        assert.equal(res.headers['x-pulp-cache'], 'HIT')
        assert.equal(f.upstream.hits('/neg/restart.bin'), 1, 'the new instance asked nothing')
      } finally {
        await again.close()
      }
    })

    it('asks the upstream every time with a negative_cache_ttl of 0', async () => {
      assert.equal((await f.get('noneg/x.bin')).status, 404)
      assert.equal((await f.get('noneg/x.bin')).status, 404)
      assert.equal(f.upstream.hits('/noneg/x.bin'), 2)
    })
  })
}
