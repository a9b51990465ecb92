import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { PypiUpstream } from '../support/python-index'
import { testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const TTL = 1
const HTML = { accept: 'text/html' }

describe('python project pages are metadata: TTL, revalidation, serve-stale', () => {
  let f: PullThroughFixture
  let up: PypiUpstream

  before(async () => {
    f = await startPullThrough()
    up = await PypiUpstream.start()
    up.publish('pkg', { 'pkg-1.0-py3-none-any.whl': { bytes: testBytes(1000) } })
    await f.t.pulp.remotes.create({ name: 'pypi-up', url: up.url, remoteTypeId: 'python', metadataTtl: TTL })
    await f.t.pulp.distributions.create({ name: 'pypi', basePath: 'pypi', remote: 'pypi-up' })
  })
  after(async () => {
    await up?.close()
    await f?.cleanup()
  })

  it('serves a fresh page from the store, revalidates an expired one (a 304 keeps the rewritten copy), and picks up a new file', async () => {
    const first = await f.get('pypi/pkg/', { headers: HTML })
    assert.equal(first.headers['x-pulp-cache'], 'MISS')
    assert.equal((await f.get('pypi/pkg/', { headers: HTML })).headers['x-pulp-cache'], 'HIT')
    await sleep(TTL * 1000 + 100)
    const again = await f.get('pypi/pkg/', { headers: HTML })
    assert.equal(again.headers['x-pulp-cache'], 'REVALIDATED')
    assert.ok(again.body.equals(first.body))
    assert.equal(up.index.requestsFor('/simple/pkg/').at(-1)?.headers['if-none-match'] !== undefined, true, 'asked conditionally')

    const newer = testBytes(1200)
    up.publish('pkg', { 'pkg-1.0-py3-none-any.whl': { bytes: testBytes(1000) }, 'pkg-1.1-py3-none-any.whl': { bytes: newer } })
    await sleep(TTL * 1000 + 100)
    const changed = await f.get('pypi/pkg/', { headers: HTML })
    assert.equal(changed.headers['x-pulp-cache'], 'MISS')
    assert.ok(changed.body.toString().includes('href="../pkg/pkg-1.1-py3-none-any.whl#sha256='))
    assert.ok((await f.get('pypi/pkg/pkg-1.1-py3-none-any.whl')).body.equals(newer), 'the new page bound the new file')
  })

  it('serves the expired page stale while the index host is down', async () => {
    await sleep(TTL * 1000 + 100)
    await up.index.close()
    const stale = await f.get('pypi/pkg/', { headers: HTML })
    assert.equal(stale.status, 200)
    assert.equal(stale.headers['x-pulp-cache'], 'STALE')
    assert.ok(stale.body.toString().includes('pkg-1.1-py3-none-any.whl'))
  })
})
