import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'
import { fetchRaw, startSecondInstance, type SecondInstance } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`an npm remote on two instances (${d.name})`, { skip: d.skip }, () => {
    let m: NpmMirror
    let second: SecondInstance
    const getSecond = async (p: string): ReturnType<typeof fetchRaw> => await fetchRaw(second.port, `/pulp/content/npm/${p}`)

    before(async () => {
      m = await startNpmMirror({ dialect: d.name })
      // A second instance on the same database and data directory, as behind a load balancer.
      second = await startSecondInstance(m.f)
    })
    after(async () => {
      await second?.close()
      await m?.cleanup()
    })

    it('serves a tarball path that the other instance learnt from a packument', async () => {
      const { app } = m.upstream
      const tarball = '@tiny/app/-/app-1.0.0.tgz'
      assert.equal((await getSecond(tarball)).status, 404, 'no packument listed it yet')
      assert.equal(m.upstream.tarballHits(app), 0)
      assert.equal((await m.f.get('npm/@tiny%2fapp')).status, 200)
      const res = await getSecond(tarball)
      assert.equal(res.status, 200)
      assert.ok(res.complete && res.body.equals(app.tarball))
      assert.equal(m.upstream.packumentHits(app), 1, 'the second instance asked for no packument')
      assert.equal(m.upstream.tarballHits(app), 1)
      // And the first serves what the second saved.
      const first = await m.f.get(`npm/${tarball}`)
      assert.ok(first.body.equals(app.tarball))
      assert.equal(m.upstream.tarballHits(app), 1)
    })
  })
}
