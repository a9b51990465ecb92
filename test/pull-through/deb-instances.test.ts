import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildDistsRepo, type AptRepo } from '../support/apt'
import { AptUpstream, hello } from '../support/apt-mirror'
import { skipUnless } from '../support/clients'
import { dialects } from '../support/databases'
import { tempDir } from '../support/pulp'
import { fetchRaw, startPullThrough, startSecondInstance, type PullThroughFixture, type SecondInstance } from '../support/upstream-pulp'

const TTL = 1
const RELEASE = 'debian/dists/stable/Release'
const INDEX = 'dists/stable/main/binary-all/Packages.gz'

for (const d of dialects()) {
  describe(`a deb remote on two instances (${d.name})`, { skip: d.skip || skipUnless('apt-ftparchive', 'dpkg-deb') }, () => {
    let f: PullThroughFixture
    let second: SecondInstance
    let root: string
    let repo: AptRepo
    let upstream: AptUpstream
    const get = async (i: number, p: string): ReturnType<typeof fetchRaw> =>
      await fetchRaw(i === 0 ? f.port : second.port, `/pulp/content/${p}`)

    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      root = await tempDir('apt-instances-')
      repo = await buildDistsRepo(root, [hello('1.0')])
      upstream = new AptUpstream(f.upstream, 'debian')
      upstream.publish(repo.files)
      await f.wire('debian', { dir: 'debian/', remoteTypeId: 'deb', metadataTtl: TTL })
      // A second instance on the same database and data directory.
      second = await startSecondInstance(f)
    })
    after(async () => {
      await second?.close()
      await f?.cleanup()
      if (root !== undefined) await rm(root, { recursive: true, force: true })
    })

    it('checks an index against the Release another instance replaced, not the one it remembers', async () => {
      for (const i of [0, 1]) {
        for (const p of [RELEASE, `debian/${INDEX}`]) assert.equal((await get(i, p)).status, 200, `${p} on instance ${i}`)
      }
      repo = await buildDistsRepo(root, [hello('2.0')])
      upstream.publish(repo.files)
      await sleep(TTL * 1000 + 200)
      const release = await get(0, RELEASE)
      assert.ok(release.body.equals(repo.files['dists/stable/Release']), `instance 0 serves the new Release (${String(release.headers['x-pulp-cache'])})`)
      // Instance 0 saves the Release just after its response (docs/pull-through.md, the deb type).
      await sleep(500)
      // Instance 1 remembers the old Release, expired: a client holding the new one must get the new index.
      const index = await get(1, `debian/${INDEX}`)
      assert.equal(index.status, 200)
      assert.ok(index.complete, `the index arrived whole (${index.body.length} of ${repo.files[INDEX].length} bytes, ${String(index.headers['x-pulp-cache'])})`)
      assert.ok(index.body.equals(repo.files[INDEX]), 'the index the new Release lists')
    })
  })
}
