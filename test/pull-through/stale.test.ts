import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { dialects } from '../support/databases'
import { ChangingFile } from '../support/upstream-metadata'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'
import { UpstreamServer } from '../support/upstream-server'

const TTL = 1

for (const d of dialects()) {
  describe(`serve-stale on upstream errors (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    const file = new ChangingFile('generation 1\n')
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      const fields = { metadataTtl: TTL, negativeCacheTtl: TTL, maxFailures: 100, totalTimeout: 1 }
      await f.wire('stale', { dir: 'stale/', staleIfError: 600, ...fields })
      await f.wire('strict', { dir: 'stale/', staleIfError: 0, ...fields })
      f.upstream.on('/stale/PULP_MANIFEST', file.handler)
      for (const base of ['stale', 'strict']) {
        assert.equal((await f.get(`${base}/PULP_MANIFEST`)).status, 200)
        await f.untilHit(`${base}/PULP_MANIFEST`)
        assert.equal((await f.get(`${base}/gone.bin`)).status, 404)
      }
      await sleep(TTL * 1000 + 100)
    })
    after(async () => { await f?.cleanup() })

    const failures: Array<[string, () => void, RegExp]> = [
      ['a 503', () => { file.mode = { kind: 'status', code: 503 } }, /^pulp-middleware; fwd=stale; fwd-status=503; detail=stale-if-error$/],
      ['a 429', () => { file.mode = { kind: 'status', code: 429 } }, /fwd-status=429; detail=stale-if-error$/],
      ['a reset connection', () => { file.mode = { kind: 'reset' } }, /^pulp-middleware; fwd=stale; detail=stale-if-error$/],
      ['a stalled upstream (total_timeout)', () => { file.mode = { kind: 'stall' } }, /^pulp-middleware; fwd=stale; detail=stale-if-error$/]
    ]
    for (const [what, fail, cacheStatus] of failures) {
      it(`serves the expired copy as STALE on ${what}`, async () => {
        fail()
        const before = f.upstream.hits('/stale/PULP_MANIFEST')
        const res = await f.get('stale/PULP_MANIFEST')
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], 'STALE')
        assert.match(String(res.headers['cache-status']), cacheStatus)
        assert.ok(Number(res.headers.age) >= TTL, `Age ${String(res.headers.age)}`)
        assert.equal(res.body.toString(), 'generation 1\n')
        assert.equal(f.upstream.hits('/stale/PULP_MANIFEST'), before + 1, 'the upstream was asked')
      })
    }

    it('serves the stale copy to every client of one failing revalidation', async () => {
      file.mode = { kind: 'status', code: 502 }
      file.delay = 200
      const before = f.upstream.hits('/stale/PULP_MANIFEST')
      const results = await Promise.all(Array.from({ length: 10 }, async () => await f.get('stale/PULP_MANIFEST')))
      file.delay = 0
      for (const r of results) {
        assert.equal(r.status, 200)
        assert.equal(r.headers['x-pulp-cache'], 'STALE')
        assert.equal(r.body.toString(), 'generation 1\n')
      }
      assert.ok(f.upstream.hits('/stale/PULP_MANIFEST') - before < 10, 'the clients shared requests')
    })

    it('answers the error once the copy expired longer ago than stale_if_error', async () => {
      file.mode = { kind: 'status', code: 503 }
      const res = await f.get('strict/PULP_MANIFEST')
      assert.equal(res.status, 502)
      assert.equal(res.headers['x-pulp-cache'], 'MISS')
    })

    it('does not stand in for an upstream that refuses the client (403)', async () => {
      file.mode = { kind: 'status', code: 403 }
      assert.equal((await f.get('stale/PULP_MANIFEST')).status, 502)
    })

    it('answers a remembered 404 as STALE while the upstream fails', async () => {
      f.upstream.on('/stale/gone.bin', (_req, res) => { res.writeHead(500); res.end() })
      const res = await f.get('stale/gone.bin')
      assert.equal(res.status, 404)
      assert.equal(res.headers['x-pulp-cache'], 'STALE')
      assert.equal((await f.get('strict/gone.bin')).status, 502, 'not past stale_if_error')
    })

    it('serves the copy when the upstream refuses connections', async () => {
      const other = await UpstreamServer.start()
      other.on('/PULP_MANIFEST', new ChangingFile('from elsewhere\n').handler)
      await f.t.pulp.remotes.create({ name: 'refusing', url: other.url(), metadataTtl: TTL, staleIfError: 600 })
      await f.t.pulp.distributions.create({ name: 'refusing', basePath: 'refusing', remote: 'refusing' })
      assert.equal((await f.get('refusing/PULP_MANIFEST')).status, 200)
      await f.untilHit('refusing/PULP_MANIFEST')
      await other.close()
      await sleep(TTL * 1000 + 100)
      const res = await f.get('refusing/PULP_MANIFEST')
      assert.equal(res.status, 200)
      assert.equal(res.headers['x-pulp-cache'], 'STALE')
      assert.equal(res.body.toString(), 'from elsewhere\n')
    })

    it('takes the upstream\'s answer again once it is back', async () => {
      file.mode = { kind: 'ok' }
      file.replace('generation 2\n')
      const res = await f.get('stale/PULP_MANIFEST')
      assert.equal(res.headers['x-pulp-cache'], 'MISS')
      assert.equal(res.body.toString(), 'generation 2\n')
    })
  })
}
