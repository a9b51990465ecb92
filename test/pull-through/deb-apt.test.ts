import { after, before, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { AptClient, buildDistsRepo, buildFlatRepo, type AptRepo, type AptResult, type DebSpec } from '../support/apt'
import { AptUpstream } from '../support/apt-upstream'
import { skipUnless } from '../support/clients'
import { tempDir } from '../support/pulp'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

// Seconds a Release stays fresh: small, so that a new generation is seen within the test, and
// longer than one apt-get update on a busy machine, which (d) needs.
const TTL = 3
const INDEX = 'dists/stable/main/binary-all/Packages'

const hello = (version: string): DebSpec => ({ name: 'hello', version, files: { 'usr/share/hello/version': `${version}\n` } })

/** apt's output in the test's diagnostics: what it fetched is part of what the test shows. */
function show (t: TestContext, what: string, result: AptResult): void {
  t.diagnostic(`${what}: exit ${result.code}`)
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) if (line.trim() !== '') t.diagnostic(`  ${line}`)
}

/** `apt-get download hello` must leave exactly the bytes the upstream built for `version`. */
async function assertDownloads (t: TestContext, client: AptClient, repo: AptRepo, version: string, dir = 'pool/main/'): Promise<void> {
  const got = await client.download('hello')
  show(t, `download hello (${version})`, got)
  assert.equal(got.code, 0, got.stderr)
  const name = `hello_${version}_all.deb`
  assert.deepEqual(Object.keys(got.files), [name])
  assert.ok(got.files[name].equals(repo.files[`${dir}${name}`]), `${name}: the bytes the upstream built`)
}

async function assertUpdates (t: TestContext, client: AptClient, what: string): Promise<AptResult> {
  const result = await client.update()
  show(t, what, result)
  assert.equal(result.code, 0, result.stdout + result.stderr)
  // The one warning allowed: the test key of a signed upstream is unknown to apt ([trusted=yes]).
  const output = (result.stdout + result.stderr).split('\n').filter((line) => !/^W: GPG error: .*NO_PUBKEY/.test(line)).join('\n')
  assert.doesNotMatch(output, /unexpected size|Hash Sum mismatch|Mirror sync in progress|^[WE]:/m)
  return result
}

const waitTtl = async (seconds = TTL): Promise<void> => await sleep(seconds * 1000 + 300)

describe('real apt through a distribution with a deb remote', { skip: skipUnless('apt-get', 'apt-ftparchive', 'dpkg-deb') }, () => {
  let f: PullThroughFixture
  let plainRoot: string
  let hashedRoot: string
  let flatRoot: string
  let flat: AptUpstream
  let flatRepo: AptRepo
  let flatClient: AptClient
  let plain: AptUpstream
  let hashed: AptUpstream
  const clients: AptClient[] = []
  let plainRepo: AptRepo
  let hashedRepo: AptRepo
  let plainClient: AptClient
  let hashedClient: AptClient

  before(async () => {
    f = await startPullThrough()
    plainRoot = await tempDir('apt-plain-')
    hashedRoot = await tempDir('apt-hashed-')
    flatRoot = await tempDir('apt-flat-')
    flat = new AptUpstream(f.upstream, 'flat')
    flatRepo = await buildFlatRepo(flatRoot, [hello('1.0')])
    flat.publish(flatRepo.files)
    await f.wire('debian-flat', { dir: 'flat/', remoteTypeId: 'deb', metadataTtl: TTL })
    plain = new AptUpstream(f.upstream, 'plain')
    hashed = new AptUpstream(f.upstream, 'hashed')
    plainRepo = await buildDistsRepo(plainRoot, [hello('1.0')])
    hashedRepo = await buildDistsRepo(hashedRoot, [hello('1.0')], { byHash: true, sign: true })
    plain.publish(plainRepo.files)
    hashed.publish(hashedRepo.files)
    await f.wire('debian-plain', { dir: 'plain/', remoteTypeId: 'deb', metadataTtl: TTL })
    await f.wire('debian-hashed', { dir: 'hashed/', remoteTypeId: 'deb', metadataTtl: TTL })
    const base = `http://127.0.0.1:${f.port}/pulp/content`
    plainClient = await AptClient.create([plainRepo.sourcesLine(`${base}/debian-plain`)])
    hashedClient = await AptClient.create([hashedRepo.sourcesLine(`${base}/debian-hashed`)])
    flatClient = await AptClient.create([flatRepo.sourcesLine(`${base}/debian-flat`)])
    clients.push(plainClient, hashedClient, flatClient)
  })

  after(async () => {
    for (const client of clients) await client.cleanup()
    await f?.cleanup()
    for (const root of [plainRoot, hashedRoot, flatRoot]) if (root !== undefined) await rm(root, { recursive: true, force: true })
  })

  it('(a) updates and downloads on the first run, signed with by-hash or not', async (t) => {
    await assertUpdates(t, plainClient, 'first update (Release only)')
    assert.equal(plain.hits('dists/stable/InRelease'), 1, 'apt asks for InRelease first; this upstream has none')
    assert.equal(plain.hits('dists/stable/Release'), 1)
    await assertDownloads(t, plainClient, plainRepo, '1.0')
    await assertUpdates(t, hashedClient, 'first update (InRelease, by-hash)')
    assert.equal(hashed.hits('dists/stable/Release'), 0, 'apt reads InRelease when there is one')
    await assertDownloads(t, hashedClient, hashedRepo, '1.0')
    await assertUpdates(t, flatClient, 'first update (flat repository)')
    await assertDownloads(t, flatClient, flatRepo, '1.0', '')
  })

  it('(b, c) see the next generation once the TTL has passed, with by-hash or not, flat or not', async (t) => {
    const hashedBefore = hashedRepo
    plainRepo = await buildDistsRepo(plainRoot, [hello('2.0')])
    hashedRepo = await buildDistsRepo(hashedRoot, [hello('2.0')], { byHash: true, sign: true })
    flatRepo = await buildFlatRepo(flatRoot, [hello('2.0')])
    plain.publish(plainRepo.files)
    hashed.publish(hashedRepo.files)
    flat.publish(flatRepo.files)
    await waitTtl()

    await assertUpdates(t, plainClient, '(b) update after the upstream published 2.0')
    assert.equal(plain.hits(`${INDEX}.gz`), 2, 'the new Packages.gz was fetched')
    await assertDownloads(t, plainClient, plainRepo, '2.0')

    await assertUpdates(t, flatClient, 'update after the flat upstream published 2.0')
    await assertDownloads(t, flatClient, flatRepo, '2.0', '')

    const byHashBefore = f.upstream.log.filter((r) => r.path.startsWith('/hashed/') && r.path.includes('/by-hash/SHA256/')).length
    await assertUpdates(t, hashedClient, '(c) update after the upstream published 2.0 (InRelease, by-hash)')
    await assertDownloads(t, hashedClient, hashedRepo, '2.0')
    const byHash = f.upstream.log.filter((r) => r.path.startsWith('/hashed/') && r.path.includes('/by-hash/SHA256/')).length
    assert.equal(byHash, byHashBefore + 1, 'apt fetched the new index by its hash')
    assert.equal(hashed.hits(`${INDEX}.gz`), 0, 'and never by its name')
    assert.ok(!hashedBefore.files[`${INDEX}.gz`].equals(hashedRepo.files[`${INDEX}.gz`]))
  })

  it('serves an index of the cached generation from by-hash after the upstream moved on', async () => {
    // The InRelease cached by (c) lists the 2.0 indexes; an index no client asked for yet must match it.
    const cached = hashedRepo
    hashedRepo = await buildDistsRepo(hashedRoot, [hello('3.0')], { byHash: true, sign: true })
    hashed.publish(hashedRepo.files)
    const res = await f.get(`debian-hashed/${INDEX}`)
    assert.equal(res.status, 200)
    assert.ok(res.body.equals(cached.files[INDEX]), 'the Packages the cached InRelease lists, not the new one')
    assert.ok(!res.body.equals(hashedRepo.files[INDEX]))
    assert.equal(hashed.hits(`dists/stable/main/binary-all/by-hash/SHA256/${sha256(cached.files[INDEX])}`), 1)
    assert.equal(hashed.hits(INDEX), 0, 'the plain name, already of the next generation, was not asked for')
  })

  it('(d) never serves a Release and a Packages of two generations: "unexpected size" cannot happen', async (t) => {
    const next = await buildDistsRepo(plainRoot, [hello('3.0')])
    await waitTtl()
    // Packages.gz revalidated now, Release at the last update: they expire at different times.
    const revalidated = await f.get(`debian-plain/${INDEX}.gz`)
    assert.equal(revalidated.headers['x-pulp-cache'], 'REVALIDATED')
    assert.ok(revalidated.body.equals(plainRepo.files[`${INDEX}.gz`]))
    const fetched = plain.hits(`${INDEX}.gz`)
    plainRepo = next
    plain.publish(plainRepo.files)
    // The Release expired, the Packages.gz copy is fresh but of the generation before.
    const started = Date.now()
    await assertUpdates(t, plainClient, 'update with a fresh Packages.gz of the previous generation')
    t.diagnostic(`apt-get update took ${Date.now() - started} ms (the Packages.gz copy stays fresh ${TTL * 1000} ms)`)
    assert.equal(plain.hits(`${INDEX}.gz`), fetched + 1, 'the copy of the previous generation was fetched again')
    await assertDownloads(t, plainClient, plainRepo, '3.0')
  })

  it('(d) repairs itself when the upstream moves on under a fresh Release (no by-hash to fall back on)', async (t) => {
    const cached = plainRepo
    plainRepo = await buildDistsRepo(plainRoot, [hello('4.0')])
    plain.publish(plainRepo.files)
    // The cached Release lists the Packages of 3.0; the upstream has 4.0: never saved, never served whole.
    const mismatch = await f.get(`debian-plain/${INDEX}`)
    assert.ok(mismatch.status !== 200 || !mismatch.complete, `status ${mismatch.status}, complete ${String(mismatch.complete)}`)
    assert.ok(!mismatch.body.equals(cached.files[INDEX]))
    await waitTtl()
    await assertUpdates(t, plainClient, 'update after the TTL: the new Release, the new Packages.gz')
    await assertDownloads(t, plainClient, plainRepo, '4.0')
    const repaired = await f.get(`debian-plain/${INDEX}`)
    assert.equal(repaired.status, 200)
    assert.ok(repaired.body.equals(plainRepo.files[INDEX]))
  })

  it('(e) gives a fresh client a whole update and its package from the cache when the upstream is down', async (t) => {
    await waitTtl()
    await f.upstream.close()
    const fresh = await AptClient.create([plainRepo.sourcesLine(`http://127.0.0.1:${f.port}/pulp/content/debian-plain`)])
    clients.push(fresh)
    await assertUpdates(t, fresh, 'fresh client, upstream down')
    assert.ok((await fresh.lists()).some((name) => name.endsWith('_Packages')), 'the index is in the lists')
    await assertDownloads(t, fresh, plainRepo, '4.0')
    const release = await f.get('debian-plain/dists/stable/Release')
    assert.equal(release.headers['x-pulp-cache'], 'STALE')
    assert.ok(release.body.equals(plainRepo.files['dists/stable/Release']))
  })
})
