import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { startPullCluster, type PullCluster } from '../support/scale-pull-cluster'
import { ChangingFile } from '../support/upstream-metadata'

const TTL = 2

for (const d of dialects()) {
  describe(`metadata revalidation across two instances (${d.name})`, { skip: d.skip }, () => {
    let c: PullCluster
    const manifest = new ChangingFile('one generation\n')
    before(async () => {
      c = await startPullCluster({
        dialect: d.name,
        instances: 2,
        setup: async (pulp, upstream) => {
          await pulp.remotes.create({ name: 'up', url: upstream.url('files/'), metadataTtl: TTL })
          await pulp.distributions.create({ name: 'mirror', basePath: 'mirror', remote: 'up' })
          upstream.on('/files/PULP_MANIFEST', manifest.handler)
        }
      })
    })
    after(async () => { await c?.stop() })

    it('sends one conditional request for an expired path asked on both instances at once', async () => {
      assert.equal((await c.get(0, 'mirror/PULP_MANIFEST')).status, 200)
      for (const i of [0, 1]) {
        await eventually(async () => (await c.get(i, 'mirror/PULP_MANIFEST', { method: 'HEAD' })).headers['x-pulp-cache'] === 'HIT', 10_000, `a HIT on ${i}`)
      }
      assert.equal(c.upstream.hits('/files/PULP_MANIFEST'), 1)
      await sleep(TTL * 1000 + 200)
      manifest.delay = 300
      const results = await Promise.all(Array.from({ length: 20 }, async (_v, i) => await c.get(i % 2, 'mirror/PULP_MANIFEST')))
      for (const r of results) {
        assert.equal(r.status, 200)
        assert.equal(r.body.toString(), 'one generation\n')
        assert.ok(['REVALIDATED', 'HIT'].includes(String(r.headers['x-pulp-cache'])), String(r.headers['x-pulp-cache']))
      }
      assert.equal(c.upstream.hits('/files/PULP_MANIFEST'), 2, 'one conditional request for both instances')
      assert.equal(manifest.count(304), 1)
    })
  })
}
