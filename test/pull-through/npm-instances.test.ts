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

    it('learns a cold tarball\'s packument once for both instances, whichever is asked', async () => {
      const { dep } = m.upstream
      const tarball = 'tiny-dep/-/tiny-dep-1.0.0.tgz'
      // Both at once: one instance fetches the packument (and the tarball), the other waits for its save.
      const [first, second] = await Promise.all([m.f.get(`npm/${tarball}`), getSecond(tarball)])
      for (const res of [first, second]) {
        assert.equal(res.status, 200)
        assert.ok(res.complete && res.body.equals(dep.tarball))
      }
      assert.equal(m.upstream.packumentHits(dep), 1)
      assert.equal(m.upstream.tarballHits(dep), 1)
      // An unknown package: one packument request, its 404 remembered for both.
      for (const get of [async (p: string) => await m.f.get(`npm/${p}`), getSecond, getSecond]) assert.equal((await get('nobody/-/nobody-1.0.0.tgz')).status, 404)
      assert.equal(m.upstream.registry.hits('/registry/nobody'), 1)
    })

    it('serves a tarball path that the other instance learnt from a packument', async () => {
      const { app } = m.upstream
      const tarball = '@tiny/app/-/app-1.0.0.tgz'
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
