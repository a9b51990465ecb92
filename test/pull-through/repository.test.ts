import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Content, FileRemote, type Artifact, type ContentTypeClass } from '../../lib'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/** A content type whose unit drops the `pool/` prefix and names a signature not downloaded. */
class PoolPackage extends Content {
  static metadata (): { id: string, displayName: string } { return { id: 'pool-package', displayName: 'Package from a pool' } }
  static override initFromArtifactAndRelativePath (
    artifact: Artifact,
    relativePath: string
  ): [PoolPackage, Record<string, Artifact | null>] {
    const unit = new PoolPackage({ relativePath: relativePath.replace(/^pool\//, ''), sha256: artifact.sha256, size: artifact.size })
    return [unit, { [relativePath]: artifact, [`${relativePath}.sig`]: null }]
  }
}

class PoolRemote extends FileRemote {
  static override metadata (): { id: string, displayName: string } { return { id: 'pool', displayName: 'Pool' } }
  override getRemoteArtifactContentType (): ContentTypeClass { return PoolPackage }
}

for (const d of dialects()) {
  describe(`pulled content joins the distribution's repository (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({
        dialect: d.name, autoPublishDelay: 0.1, plugins: [{ remoteTypes: [PoolRemote], contentTypes: [PoolPackage] }]
      })
      await f.t.pulp.repositories.create({ id: 'pulled' })
      await f.t.pulp.distributors.add('pulled', {
        distributorTypeId: 'web', distributorId: 'web', autoPublish: true, distributorConfig: { relative_url: 'published/pulled' }
      })
      await f.wire('pt', {}, 'pulled')
    })
    after(async () => { await f?.cleanup() })

    it('adds the pulled file as a unit, and auto_publish publishes it', async () => {
      const body = testBytes(40_000)
      f.upstream.on('/files/dir/x.bin', serveFile(body))
      assert.ok((await f.get('pt/dir/x.bin')).body.equals(body))
      await eventually(async () => (await f.t.pulp.repositories.listContent('pulled')).count === 1, 5000, 'the unit')
      const [unit] = (await f.t.pulp.repositories.listContent('pulled')).results
      assert.equal(unit.typeId, 'file')
      assert.equal(unit.relativePath, 'dir/x.bin')
      assert.equal(unit.sha256, sha256(body))
      assert.equal(unit.size, body.length)

      let published = await f.get('published/pulled/dir/x.bin')
      await eventually(async () => { published = await f.get('published/pulled/dir/x.bin'); return published.status === 200 }, 10_000, 'the auto-publish')
      assert.ok(published.body.equals(body))
      assert.equal(published.headers['x-pulp-cache'], undefined, 'served by the static tree')
      assert.equal(published.headers.etag, `"${sha256(body)}"`)
    })

    it('does not add a unit twice for the same path and bytes', async () => {
      const body = testBytes(1000)
      f.upstream.on('/files/once.bin', serveFile(body))
      await f.get('pt/once.bin')
      await eventually(async () => (await f.t.pulp.repositories.listContent('pulled')).results.some((u) => u.relativePath === 'once.bin'), 5000, 'the unit')
      const before = (await f.t.pulp.repositories.get('pulled')).contentVersion
      await f.get('pt/once.bin')
      assert.equal((await f.t.pulp.repositories.get('pulled')).contentVersion, before)
    })

    it("makes the unit with the content type's hook", async () => {
      await f.t.pulp.repositories.create({ id: 'pool' })
      await f.wire('poolmirror', { remoteTypeId: 'pool', dir: 'pool-up/' }, 'pool')
      const body = testBytes(3000)
      f.upstream.on('/pool-up/pool/p/pkg-1.0.bin', serveFile(body))
      assert.ok((await f.get('poolmirror/pool/p/pkg-1.0.bin')).body.equals(body))
      await eventually(async () => (await f.t.pulp.repositories.listContent('pool')).count === 1, 5000, 'the unit')
      const [unit] = (await f.t.pulp.repositories.listContent('pool')).results
      assert.equal(unit.typeId, 'pool-package')
      assert.equal(unit.relativePath, 'p/pkg-1.0.bin')
      await f.untilHit('poolmirror/pool/p/pkg-1.0.bin')
      // The signature was named without an artifact: it is fetched when asked for.
      f.upstream.on('/pool-up/pool/p/pkg-1.0.bin.sig', serveFile(Buffer.from('sig')))
      assert.equal((await f.get('poolmirror/pool/p/pkg-1.0.bin.sig')).headers['x-pulp-cache'], 'MISS')
    })
  })
}
