import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { PypiUpstream } from '../support/python-index'
import { testBytes } from '../support/upstream-faults'
import { fetchRaw, startPullThrough, startSecondInstance, type PullThroughFixture, type SecondInstance } from '../support/upstream-pulp'

const JSON_ACCEPT = { accept: 'application/vnd.pypi.simple.v1+json' }

for (const d of dialects()) {
  describe(`a python remote on two instances (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let second: SecondInstance
    let up: PypiUpstream
    const wheel = testBytes(50_000)
    const other = testBytes(40_000)
    const get = async (i: number, p: string, headers?: Record<string, string>): ReturnType<typeof fetchRaw> =>
      await fetchRaw(i === 0 ? f.port : second.port, `/pulp/content/pypi/${p}`, { headers })

    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      up = await PypiUpstream.start()
      up.publish('one', { 'one-1.0-py3-none-any.whl': { bytes: wheel } })
      up.publish('two', { 'two-1.0-py3-none-any.whl': { bytes: other } })
      await f.t.pulp.remotes.create({ name: 'pypi-up', url: up.url, remoteTypeId: 'python', metadataTtl: 600 })
      await f.t.pulp.distributions.create({ name: 'pypi', basePath: 'pypi', remote: 'pypi-up' })
      // A second instance on the same database and data directory.
      second = await startSecondInstance(f)
    })
    after(async () => {
      await second?.close()
      await up?.close()
      await f?.cleanup()
    })

    it('serves on one instance a file whose binding the other learnt from the page', async () => {
      const page = await get(0, 'one/', JSON_ACCEPT)
      assert.equal(page.status, 200)
      const res = await get(1, 'one/one-1.0-py3-none-any.whl')
      assert.equal(res.status, 200)
      assert.ok(res.complete && res.body.equals(wheel))
      assert.equal(up.files.hits('/packages/one-1.0-py3-none-any.whl'), 1)
      const cached = await get(1, 'one/', JSON_ACCEPT)
      assert.equal(cached.headers['x-pulp-cache'], 'HIT', 'the rewritten page is shared too')
      assert.ok(cached.body.equals(page.body))
      assert.equal(up.index.hits('/simple/one/'), 1)
    })

    it('never gives the other instance the upstream\'s page while the first one rewrites it', async () => {
      up.pageDelay = 300
      const [a, b] = await Promise.all([get(0, 'two/', JSON_ACCEPT), get(1, 'two/', JSON_ACCEPT)])
      up.pageDelay = 0
      for (const res of [a, b]) {
        assert.equal(res.status, 200)
        assert.ok(!res.body.toString().includes(up.files.url()), 'rewritten')
      }
      assert.ok(a.body.equals(b.body))
      assert.equal(up.index.hits('/simple/two/'), 1, 'one fetch for both instances')
      assert.ok((await get(1, 'two/two-1.0-py3-none-any.whl')).body.equals(other))
    })
  })
}
