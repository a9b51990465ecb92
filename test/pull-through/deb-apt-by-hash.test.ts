import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildDistsRepo, buildFlatRepo, type AptRepo } from '../support/apt'
import { assertDownloads, assertUpdates, hello, mirrorRepo, type MirroredRepo } from '../support/apt-mirror'
import { skipUnless } from '../support/clients'
import { tempDir } from '../support/pulp'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const TTL = 2
const INDEX = 'dists/stable/main/binary-all/Packages'
const BY_HASH = '/by-hash/SHA256/'

describe('real apt through a deb remote: a signed upstream with by-hash, and a flat one', { skip: skipUnless('apt-get', 'apt-ftparchive', 'dpkg-deb') }, () => {
  let f: PullThroughFixture
  let roots: string[]
  let signed: AptRepo
  let flat: AptRepo
  let s: MirroredRepo
  let fl: MirroredRepo

  before(async () => {
    f = await startPullThrough()
    roots = [await tempDir('apt-signed-'), await tempDir('apt-flat-')]
    signed = await buildDistsRepo(roots[0], [hello('1.0')], { byHash: true, sign: true })
    flat = await buildFlatRepo(roots[1], [hello('1.0')])
    s = await mirrorRepo(f, 'signed', signed, TTL)
    fl = await mirrorRepo(f, 'flat', flat, TTL)
  })
  after(async () => {
    for (const m of [s, fl]) await m?.client.cleanup()
    await f?.cleanup()
    for (const root of roots ?? []) await rm(root, { recursive: true, force: true })
  })

  it('(a) updates from InRelease and by-hash, and from a flat repository, on the first run', async (t) => {
    await assertUpdates(t, s.client, 'first update (InRelease, by-hash)')
    assert.equal(s.upstream.hits('dists/stable/Release'), 0, 'apt reads InRelease when there is one')
    await assertDownloads(t, s.client, signed, '1.0')
    await assertUpdates(t, fl.client, 'first update (flat)')
    await assertDownloads(t, fl.client, flat, '1.0', '')
  })

  it('(c) sees the next generation once the TTL has passed, fetching its index by hash', async (t) => {
    const before = signed
    signed = await buildDistsRepo(roots[0], [hello('2.0')], { byHash: true, sign: true })
    flat = await buildFlatRepo(roots[1], [hello('2.0')])
    s.upstream.publish(signed.files)
    fl.upstream.publish(flat.files)
    await sleep(TTL * 1000 + 300)
    const byHash = (): number => f.upstream.log.filter((r) => r.path.startsWith('/signed/') && r.path.includes(BY_HASH)).length
    const byHashBefore = byHash()
    await assertUpdates(t, s.client, 'update after the upstream published 2.0 (InRelease, by-hash)')
    await assertDownloads(t, s.client, signed, '2.0')
    assert.equal(byHash(), byHashBefore + 1, 'apt fetched the new index by its hash')
    assert.equal(s.upstream.hits(`${INDEX}.gz`), 0, 'and never by its name')
    assert.ok(!before.files[`${INDEX}.gz`].equals(signed.files[`${INDEX}.gz`]))
    await assertUpdates(t, fl.client, 'update after the flat upstream published 2.0')
    await assertDownloads(t, fl.client, flat, '2.0', '')
  })

  it('serves an index of the cached generation from by-hash after the upstream moved on', async () => {
    // The cached InRelease lists the 2.0 indexes; an index no client asked for yet must match it.
    const cached = signed
    signed = await buildDistsRepo(roots[0], [hello('3.0')], { byHash: true, sign: true })
    s.upstream.publish(signed.files)
    const res = await f.get(`signed/${INDEX}`)
    assert.equal(res.status, 200)
    assert.ok(res.body.equals(cached.files[INDEX]), 'the Packages the cached InRelease lists, not the new one')
    assert.ok(!res.body.equals(signed.files[INDEX]))
    assert.equal(s.upstream.hits(`dists/stable/main/binary-all${BY_HASH}${sha256(cached.files[INDEX])}`), 1)
    assert.equal(s.upstream.hits(INDEX), 0, 'the plain name, already of the next generation, was not asked for')
  })
})
