import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AptClient, buildDistsRepo, buildFlatRepo, type AptRepo } from '../support/apt'
import { skipUnless, startSite, type PublishedSite } from '../support/clients'

const skip = skipUnless('apt-get', 'apt-ftparchive', 'dpkg-deb')

describe('apt-get against the static tree', { skip }, () => {
  let work: string
  let dists: PublishedSite
  let flat: PublishedSite
  const clients: AptClient[] = []

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'apt-repos-'))
    dists = await startSite({ relativeUrl: 'debian' })
    flat = await startSite({ relativeUrl: 'flat' })
  })
  after(async () => {
    for (const c of clients) await c.cleanup()
    await dists?.close()
    await flat?.close()
    await rm(work, { recursive: true, force: true })
  })

  async function client (repo: AptRepo, site: PublishedSite): Promise<AptClient> {
    const c = await AptClient.create([repo.sourcesLine(site.url)])
    clients.push(c)
    return c
  }

  it('updates from a dists/ repository with by-hash indexes and downloads what the next generation adds', async () => {
    const root = path.join(work, 'dists')
    const first = await buildDistsRepo(root, [
      { name: 'alpha', version: '1.0', files: { 'usr/share/alpha/README': 'alpha one\n' } },
      { name: 'beta', version: '1.0', files: { 'usr/share/beta/data.bin': Buffer.alloc(50_000, 7) } }
    ], { byHash: true })
    await dists.publish(first.files)
    const apt = await client(first, dists)

    const update = await apt.update()
    assert.equal(update.code, 0, update.stdout + update.stderr)
    assert.doesNotMatch(update.stdout + update.stderr, /^(W|E|Err):/m)
    assert.ok(dists.requests.some((r) => /\/dists\/stable\/main\/binary-all\/by-hash\/SHA256\/[0-9a-f]{64}$/.test(r.url) && r.status === 200),
      'apt fetched an index by its hash')
    const beta = await apt.download('beta')
    assert.equal(beta.code, 0, beta.stderr)
    assert.deepEqual(Object.keys(beta.files), ['beta_1.0_all.deb'])
    assert.ok(beta.files['beta_1.0_all.deb'].equals(first.files['pool/main/beta_1.0_all.deb']))

    // Second generation: alpha 2.0 joins, the old by-hash files stay (as on a real archive).
    // apt revalidates Release with If-Modified-Since alone (no If-None-Match), whose dates count
    // whole seconds: a Release replaced within the second of the one apt holds looks unchanged
    // (a 304), to this server as to any. A real archive changes far less often than that.
    await sleep(1100)
    const second = await buildDistsRepo(root, [{ name: 'alpha', version: '2.0', files: { 'usr/share/alpha/README': 'alpha two\n' } }], { byHash: true })
    assert.ok(Object.keys(first.files).every((f) => f in second.files))
    await dists.publish(second.files)
    const again = await apt.update()
    assert.equal(again.code, 0, again.stdout + again.stderr)
    const alpha = await apt.download('alpha')
    assert.equal(alpha.code, 0, alpha.stderr)
    assert.deepEqual(Object.keys(alpha.files), ['alpha_2.0_all.deb'])
    assert.ok(alpha.files['alpha_2.0_all.deb'].equals(second.files['pool/main/alpha_2.0_all.deb']))
    const older = await apt.download('alpha=1.0')
    assert.equal(older.code, 0, older.stderr)
    assert.ok(older.files['alpha_1.0_all.deb'].equals(first.files['pool/main/alpha_1.0_all.deb']))
  })

  it('updates from a flat repository (deb URL ./) and downloads through Filename: ./x.deb', async () => {
    const repo = await buildFlatRepo(path.join(work, 'flat'), [
      { name: 'gamma', version: '0.3', files: { 'usr/share/gamma/g.txt': 'gamma\n' } }
    ])
    assert.match(repo.files.Packages.toString(), /^Filename: \.\/gamma_0\.3_all\.deb$/m)
    await flat.publish(repo.files)
    const apt = await client(repo, flat)
    const update = await apt.update()
    assert.equal(update.code, 0, update.stdout + update.stderr)
    assert.doesNotMatch(update.stdout + update.stderr, /^(W|E|Err):/m)
    const gamma = await apt.download('gamma')
    assert.equal(gamma.code, 0, gamma.stderr)
    assert.ok(gamma.files['gamma_0.3_all.deb'].equals(repo.files['gamma_0.3_all.deb']))
    // What apt really asked for: the ./ paths, each answered.
    const asked = flat.requests.filter((r) => r.url.includes('/flat/./'))
    assert.ok(asked.some((r) => r.url.endsWith('/flat/./Release') && r.status === 200), JSON.stringify(flat.requests))
    assert.ok(asked.some((r) => r.url.endsWith('/flat/./gamma_0.3_all.deb') && r.status === 200))
  })
})
