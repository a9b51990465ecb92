import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'

// Seconds a packument stays fresh: small, so that expiry happens within the test.
const TTL = 1
const waitTtl = async (): Promise<void> => await sleep(TTL * 1000 + 300)

describe('packuments of an npm remote over time', () => {
  let m: NpmMirror
  let first: Buffer

  before(async () => {
    m = await startNpmMirror()
    await m.f.t.pulp.remotes.update(m.remote, { metadataTtl: TTL })
  })
  after(async () => { await m?.cleanup() })

  const versionsOf = (body: Buffer): Record<string, { dist: { tarball: string } }> => JSON.parse(body.toString()).versions

  it('revalidates an expired copy and keeps the rewritten body on a 304', async () => {
    const miss = await m.f.get('npm/tiny-dep')
    assert.equal(miss.headers['x-pulp-cache'], 'MISS')
    first = miss.body
    assert.equal((await m.f.get('npm/tiny-dep')).headers['x-pulp-cache'], 'HIT')
    await waitTtl()
    const again = await m.f.get('npm/tiny-dep')
    assert.equal(again.headers['x-pulp-cache'], 'REVALIDATED')
    assert.ok(again.body.equals(first), 'the rewritten copy, not the upstream\'s document')
    assert.equal(versionsOf(again.body)['1.0.0'].dist.tarball, `${m.registry}tiny-dep/-/tiny-dep-1.0.0.tgz`)
    const conditional = m.upstream.registry.requestsFor('/registry/tiny-dep').at(-1)
    assert.ok(conditional?.headers['if-none-match'] !== undefined, 'asked with the upstream\'s ETag')
  })

  it('sees a new version once the copy expired, and serves its tarball', async () => {
    const next = m.upstream.publish('tiny-dep', '1.1.0', {}, "module.exports = 'tiny-dep 1.1.0'\n")
    await waitTtl()
    const fetched = await m.f.get('npm/tiny-dep')
    assert.equal(fetched.headers['x-pulp-cache'], 'MISS')
    assert.equal(versionsOf(fetched.body)['1.1.0'].dist.tarball, `${m.registry}tiny-dep/-/tiny-dep-1.1.0.tgz`)
    const tarball = await m.f.get('npm/tiny-dep/-/tiny-dep-1.1.0.tgz')
    assert.equal(tarball.status, 200)
    assert.ok(tarball.body.equals(next.tarball))
  })

  it('serves the expired copy while the registry is down', async () => {
    const cached = (await m.f.get('npm/tiny-dep')).body
    await m.upstream.stop()
    await waitTtl()
    const stale = await m.f.get('npm/tiny-dep')
    assert.equal(stale.headers['x-pulp-cache'], 'STALE')
    assert.ok(stale.body.equals(cached))
  })
})

describe('an npm remote under the streamed policy', () => {
  let m: NpmMirror

  before(async () => {
    m = await startNpmMirror()
    await m.f.t.pulp.remotes.update(m.remote, { policy: 'streamed' })
  })
  after(async () => { await m?.cleanup() })

  it('still rewrites and caches packuments, and streams tarballs without saving them', async () => {
    const { dep } = m.upstream
    const packument = await m.f.get('npm/tiny-dep')
    assert.equal(JSON.parse(packument.body.toString()).versions['1.0.0'].dist.tarball, `${m.registry}tiny-dep/-/tiny-dep-1.0.0.tgz`)
    assert.equal((await m.f.get('npm/tiny-dep')).headers['x-pulp-cache'], 'HIT')
    for (let i = 0; i < 2; i++) {
      const tarball = await m.f.get('npm/tiny-dep/-/tiny-dep-1.0.0.tgz')
      assert.equal(tarball.headers['x-pulp-cache'], 'MISS')
      assert.ok(tarball.complete && tarball.body.equals(dep.tarball))
    }
    assert.equal(m.upstream.tarballHits(dep), 2)
    assert.equal(await m.f.stored(dep.tarball), false)
  })
})
