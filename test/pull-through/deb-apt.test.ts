import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { AptClient, buildDistsRepo, type AptRepo } from '../support/apt'
import { assertDownloads, assertUpdates, hello, mirrorRepo, type MirroredRepo } from '../support/apt-mirror'
import { skipUnless } from '../support/clients'
import { tempDir } from '../support/pulp'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

// Seconds a Release stays fresh: small, so that a new generation is seen within the test, and
// longer than one apt-get update on a busy machine, which (d) needs.
const TTL = 3
const INDEX = 'dists/stable/main/binary-all/Packages'
const waitTtl = async (): Promise<void> => await sleep(TTL * 1000 + 300)

// An upstream without by-hash: the hard case, where only the SHA256 check keeps apt whole.
describe('real apt through a deb remote, upstream without by-hash', { skip: skipUnless('apt-get', 'apt-ftparchive', 'dpkg-deb') }, () => {
  let f: PullThroughFixture
  let root: string
  let repo: AptRepo
  let m: MirroredRepo
  const clients: AptClient[] = []

  before(async () => {
    f = await startPullThrough()
    root = await tempDir('apt-plain-')
    repo = await buildDistsRepo(root, [hello('1.0')])
    m = await mirrorRepo(f, 'debian', repo, TTL)
    clients.push(m.client)
  })
  after(async () => {
    for (const client of clients) await client.cleanup()
    await f?.cleanup()
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  })

  async function publish (version: string): Promise<void> {
    repo = await buildDistsRepo(root, [hello(version)])
    m.upstream.publish(repo.files)
  }

  it('(a) updates and downloads on the first run', async (t) => {
    await assertUpdates(t, m.client, 'first update')
    assert.equal(m.upstream.hits('dists/stable/InRelease'), 1, 'apt asks for InRelease first; this upstream has none')
    assert.equal(m.upstream.hits('dists/stable/Release'), 1)
    await assertDownloads(t, m.client, repo, '1.0')
  })

  it('(b) sees the next generation once the TTL has passed', async (t) => {
    await publish('2.0')
    await waitTtl()
    await assertUpdates(t, m.client, 'update after the upstream published 2.0')
    assert.equal(m.upstream.hits(`${INDEX}.gz`), 2, 'the new Packages.gz was fetched')
    await assertDownloads(t, m.client, repo, '2.0')
  })

  it('(d) never serves a Release and a Packages of two generations: "unexpected size" cannot happen', async (t) => {
    const next = await buildDistsRepo(root, [hello('3.0')])
    await waitTtl()
    // Packages.gz revalidated now, Release at the last update: they expire at different times.
    const revalidated = await f.get(`debian/${INDEX}.gz`)
    assert.equal(revalidated.headers['x-pulp-cache'], 'REVALIDATED')
    assert.ok(revalidated.body.equals(repo.files[`${INDEX}.gz`]))
    const fetched = m.upstream.hits(`${INDEX}.gz`)
    repo = next
    m.upstream.publish(repo.files)
    // The Release expired, the Packages.gz copy is fresh but of the generation before.
    const started = Date.now()
    await assertUpdates(t, m.client, 'update with a fresh Packages.gz of the previous generation')
    t.diagnostic(`apt-get update took ${Date.now() - started} ms (the Packages.gz copy stays fresh ${TTL * 1000} ms)`)
    assert.equal(m.upstream.hits(`${INDEX}.gz`), fetched + 1, 'the copy of the previous generation was fetched again')
    await assertDownloads(t, m.client, repo, '3.0')
  })

  it('(d) repairs itself when the upstream moves on under a fresh Release', async (t) => {
    const cached = repo
    await publish('4.0')
    // The cached Release lists the Packages of 3.0, the upstream has 4.0: never saved, never served whole.
    const mismatch = await f.get(`debian/${INDEX}`)
    assert.ok(mismatch.status !== 200 || !mismatch.complete, `status ${mismatch.status}, complete ${String(mismatch.complete)}`)
    assert.ok(!mismatch.body.equals(cached.files[INDEX]))
    await waitTtl()
    await assertUpdates(t, m.client, 'update after the TTL: the new Release, the new Packages.gz')
    await assertDownloads(t, m.client, repo, '4.0')
    const repaired = await f.get(`debian/${INDEX}`)
    assert.equal(repaired.status, 200)
    assert.ok(repaired.body.equals(repo.files[INDEX]))
  })

  it('(e) gives a fresh client a whole update and its package from the cache when the upstream is down', async (t) => {
    await waitTtl()
    await f.upstream.close()
    const fresh = await AptClient.create([repo.sourcesLine(m.url)])
    clients.push(fresh)
    await assertUpdates(t, fresh, 'fresh client, upstream down')
    const lists = await fresh.lists()
    assert.ok(lists.some((name) => /_Packages(\.\w+)?$/.test(name)), `the index is in the lists: ${lists.join(', ')}`)
    await assertDownloads(t, fresh, repo, '4.0')
    const release = await f.get('debian/dists/stable/Release')
    assert.equal(release.headers['x-pulp-cache'], 'STALE')
    assert.ok(release.body.equals(repo.files['dists/stable/Release']))
  })
})
