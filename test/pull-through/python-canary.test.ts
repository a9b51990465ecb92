import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PypiUpstream } from '../support/python-index'
import { testBytes } from '../support/upstream-faults'
import { UpstreamServer } from '../support/upstream-server'
import { fetchRaw, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/**
 * pulp_python takes a file's upstream URL from a `?redirect=` the client controls. Here the
 * upstream URL of a file comes only from a page the remote served: a canary server that
 * crafted requests name must never be asked anything.
 */
describe('a python remote fetches no URL a request names', () => {
  let f: PullThroughFixture
  let up: PypiUpstream
  let canary: UpstreamServer
  const wheel = testBytes(10_000)

  before(async () => {
    f = await startPullThrough()
    up = await PypiUpstream.start()
    canary = await UpstreamServer.start()
    up.publish('pkg', { 'pkg-1.0-py3-none-any.whl': { bytes: wheel } })
    await f.t.pulp.remotes.create({ name: 'pypi-up', url: up.url, remoteTypeId: 'python' })
    await f.t.pulp.distributions.create({ name: 'pypi', basePath: 'pypi', remote: 'pypi-up' })
    assert.equal((await f.get('pypi/pkg/')).status, 200)
  })
  after(async () => {
    await canary?.close()
    await up?.close()
    await f?.cleanup()
  })

  it('answers crafted paths, queries and headers without a request to the canary', async () => {
    const url = canary.url('x/pkg-1.0-py3-none-any.whl')
    const host = `127.0.0.1:${canary.port}`
    const base = '/pulp/content/pypi'
    const crafted: Array<[string, Record<string, string>?]> = [
      [`${base}/pkg/pkg-1.0-py3-none-any.whl?redirect=${encodeURIComponent(url)}`],
      [`${base}/pkg/x.whl?redirect=${encodeURIComponent(url)}`],
      [`${base}/pkg/?url=${encodeURIComponent(url)}`],
      [`${base}/${url}`],
      [`${base}/pkg/${url}`],
      [`${base}/pkg/${encodeURIComponent(url)}`],
      [`${base}/${host}/x/`],
      [`${base}/pkg/..%2F..%2F${host}`],
      [`${base}//${host}/x/pkg-1.0-py3-none-any.whl`],
      [url],
      [`${base}/other/`, { host }],
      [`${base}/pkg/y.whl`, { host, 'x-forwarded-host': host, forwarded: `host=${host}` }]
    ]
    for (const [target, headers] of crafted) {
      const res = await fetchRaw(f.port, target, { headers })
      assert.ok(res.status >= 200, target)
    }
    assert.deepEqual(canary.log, [], 'the canary was asked nothing')
    // The one bound path among them was fetched from where its page said, its query ignored.
    assert.deepEqual(up.files.log.map((r) => r.path), ['/packages/pkg-1.0-py3-none-any.whl'])
  })

  it('serves the bound file from the store then, whatever the query says', async () => {
    const res = await f.get('pypi/pkg/pkg-1.0-py3-none-any.whl?redirect=' + encodeURIComponent(canary.url('x')))
    assert.ok(res.body.equals(wheel))
    assert.equal(up.files.log.length, 1)
    assert.deepEqual(canary.log, [])
  })
})
