import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/** Small artifacts' bytes kept in memory for warm HITs, and dropped once their file is not the one stat'd. */
describe('warm HITs of small artifacts from memory', () => {
  let f: PullThroughFixture
  before(async () => {
    f = await startPullThrough()
    await f.wire('kept')
  })
  after(async () => { await f?.cleanup() })

  it('serves the same bytes every time, and pulls again once the artifact file is gone', async () => {
    const body = testBytes(1024)
    f.upstream.on('/files/small.bin', serveFile(body))
    assert.ok((await f.get('kept/small.bin')).body.equals(body))
    await f.untilHit('kept/small.bin')
    // The first HITs read the file (and keep its bytes); the later ones come from memory.
    for (let i = 0; i < 5; i++) {
      const hit = await f.get('kept/small.bin')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.ok(hit.body.equals(body), `HIT ${i}`)
    }
    const digest = sha256(body)
    await rm(path.join(f.t.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2)))
    const again = await f.get('kept/small.bin')
    assert.equal(again.status, 200)
    assert.equal(again.headers['x-pulp-cache'], 'MISS', 'never the kept bytes of a file that is gone')
    assert.ok(again.body.equals(body))
    assert.equal(f.upstream.hits('/files/small.bin', 'GET'), 2)
  })
})
