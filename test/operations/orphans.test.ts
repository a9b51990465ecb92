import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, symlink } from 'node:fs/promises'
import path from 'node:path'
import { dialects } from '../support/databases'
import { API, api } from '../support/publish-env'
import { serveFile } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const digest = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex')

for (const d of dialects()) {
  describe(`orphan cleanup (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    const artifactPath = (sha: string): string => path.join(f.t.dataDir, 'artifacts', sha.slice(0, 2), sha.slice(2))
    before(async () => {
      f = await startPullThrough({ dialect: d.name, runner: { pollInterval: 0.05 } })
    })
    after(async () => { await f?.cleanup() })

    async function cleanup (minutes = 0): Promise<{ files: number, bytes: number, units: number }> {
      const res = await api(f.t).post(`${API}/orphans/cleanup`).send({ orphan_protection_time: minutes }).expect(202)
      assert.equal(res.body.task_type, 'orphan_cleanup')
      const done = await f.t.pulp.tasks.wait(res.body.task_id, { timeout: 20 })
      assert.equal(done.state, 'finished')
      const read = await api(f.t).get(`${API}/tasks/${res.body.task_id as string}`).expect(200)
      assert.equal(read.body.state, 'finished')
      return (done.result as { details: { files: number, bytes: number, units: number } }).details
    }

    it('keeps what a repository, a remote path, a live or a grace publication references, and removes true orphans', async () => {
      const { pulp } = f.t
      await pulp.repositories.create({ id: 'keep' })
      await pulp.repositories.create({ id: 'other' })
      await pulp.repositories.create({ id: 'pub' })
      // Shared with another repository.
      await pulp.repositories.addContent('keep', { file: Buffer.from('shared bytes'), relativePath: 'shared.txt' })
      const sharedUnit = await pulp.repositories.addContent('other', { file: Buffer.from('shared bytes'), relativePath: 'shared.txt' })
      await pulp.repositories.removeContent('other', sharedUnit.id)
      // A true orphan.
      const orphan = await pulp.repositories.addContent('keep', { file: Buffer.from('orphan bytes!'), relativePath: 'orphan.txt' })
      await pulp.repositories.removeContent('keep', orphan.id)
      // Live publication: published, then removed from the repository.
      const live = await pulp.repositories.addContent('pub', { file: Buffer.from('live publication'), relativePath: 'live.txt' })
      await pulp.distributors.add('pub', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'pub' } })
      const task = await pulp.publish('pub', 'web')
      assert.equal((await pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished')
      await pulp.repositories.removeContent('pub', live.id)
      // A grace-period publication: a superseded tree still on disk, linking to an artifact.
      const grace = await pulp.repositories.addContent('keep', { file: Buffer.from('grace publication'), relativePath: 'grace.txt' })
      const graceDir = path.join(f.t.dataDir, 'publications', 'gone', 'web', 'old-publication', 'sub')
      await mkdir(graceDir, { recursive: true })
      await symlink(path.relative(graceDir, artifactPath(grace.sha256)), path.join(graceDir, 'grace.txt'))
      await pulp.repositories.removeContent('keep', grace.id)
      // A cached remote path.
      const pulled = Buffer.from('pulled through')
      f.upstream.on('/files/p.bin', serveFile(pulled))
      await f.wire('orph')
      assert.equal((await f.get('orph/p.bin')).status, 200)
      await f.untilHit('orph/p.bin')
      // A cached metadata page (a path ending in "/"): an artifact only its cache entry references.
      const page = Buffer.from('<html>a cached metadata page</html>')
      f.upstream.on('/files/meta/', serveFile(page))
      assert.equal((await f.get('orph/meta/')).status, 200)
      await f.untilHit('orph/meta/')

      assert.deepEqual(await cleanup(1440), { files: 0, bytes: 0, units: 0 }, 'everything is younger than a day')
      const freed = await cleanup(0)
      assert.equal(freed.files, 1)
      assert.equal(freed.bytes, 'orphan bytes!'.length)
      assert.equal(existsSync(artifactPath(orphan.sha256)), false, 'the orphan is gone')
      for (const [what, sha] of [['shared', digest('shared bytes')], ['live', live.sha256], ['grace', grace.sha256], ['pulled', digest(pulled)], ['metadata', digest(page)]]) {
        assert.ok(existsSync(artifactPath(sha)), `${what} is kept`)
      }
      assert.equal((await f.get('pub/live.txt')).status, 200, 'the live publication still serves its file')
      assert.equal((await f.get('orph/p.bin')).headers['x-pulp-cache'], 'HIT')
      const cachedPage = await f.get('orph/meta/')
      assert.equal(cachedPage.headers['x-pulp-cache'], 'HIT', 'the cached metadata page is served from the store')
      assert.ok(cachedPage.body.equals(page))
      // The orphan's bytes come back whole when uploaded again.
      await pulp.repositories.addContent('keep', { file: Buffer.from('orphan bytes!'), relativePath: 'again.txt' })
      assert.equal(await readFile(artifactPath(orphan.sha256), 'utf8'), 'orphan bytes!')
    })

    it('never loses the artifact of an upload of the same bytes during the sweep', async () => {
      const { pulp } = f.t
      await pulp.repositories.create({ id: 'race' })
      const bodies = Array.from({ length: 80 }, (_, i) => Buffer.from(`race body ${i} `.repeat(20)))
      for (const [i, body] of bodies.entries()) {
        const unit = await pulp.repositories.addContent('race', { file: body, relativePath: `f${i}` })
        await pulp.repositories.removeContent('race', unit.id)
      }
      // Uploads of the same bytes run while the sweep deletes them as orphans.
      const sweeping = cleanup(0)
      const uploads = Promise.all(bodies.map(async (body, i) => await pulp.repositories.addContent('race', { file: body, relativePath: `again/f${i}` })))
      const [, units] = await Promise.all([sweeping, uploads])
      for (const [i, unit] of units.entries()) {
        assert.ok((await readFile(artifactPath(unit.sha256))).equals(bodies[i]), `the artifact of again/f${i} is whole`)
      }
      // And a later sweep keeps them: they are referenced now.
      await cleanup(0)
      for (const unit of units) assert.ok(existsSync(artifactPath(unit.sha256)))
    })

    it('leaves simultaneous uploads of the same bytes one artifact row and one unit (the rows they lock)', async () => {
      const { pulp } = f.t
      await pulp.repositories.create({ id: 'same' })
      const body = Buffer.from('the same bytes from everyone')
      const units = await Promise.all(Array.from({ length: 6 }, async () => await pulp.repositories.addContent('same', { file: body, relativePath: 'same.txt' })))
      assert.equal(new Set(units.map((u) => u.id)).size, 1)
      assert.equal((await pulp.repositories.listContent('same')).count, 1)
      const rows = await api(f.t).get(`${API}/repositories/same/content`).expect(200)
      assert.equal(rows.body.results[0].sha256, digest(body))
      assert.equal(await readFile(artifactPath(digest(body)), 'utf8'), body.toString())
    })

    it('refuses a bad orphan_protection_time', async () => {
      for (const bad of [-1, 1.5, 'soon']) {
        const res = await api(f.t).post(`${API}/orphans/cleanup`).send({ orphan_protection_time: bad })
        assert.equal(res.status, 400, String(bad))
      }
      assert.equal((await api(f.t).post(`${API}/orphans/cleanup`).send({ other: 1 })).status, 400)
    })
  })
}
