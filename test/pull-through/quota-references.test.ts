import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, symlink } from 'node:fs/promises'
import path from 'node:path'
import { dialects } from '../support/databases'
import { API, api } from '../support/publish-env'
import { quotaSuite, SIZE } from '../support/quota'
import { serveFile } from '../support/upstream-faults'
import { sha256 } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`pull-through quota: what keeps a file (${d.name})`, { skip: d.skip }, () => {
    const suite = quotaSuite(d.name)

    it('never evicts a file a live or grace-period publication links to', async () => {
      const { f, knex, q } = suite
      const m = await q.mirror('published', null)
      const live = await q.pull(m, 'live.bin')
      const grace = await q.pull(m, 'grace.bin')
      const plain = await q.pull(m, 'plain.bin')
      // The same unit (type, path, bytes) uploaded to a repository, published, then removed from
      // it: only the live publication still needs its bytes.
      const { pulp } = f.t
      await pulp.repositories.create({ id: 'site' })
      const unit = await pulp.repositories.addContent('site', { file: live, relativePath: 'live.bin' })
      const pulled = await knex('pulp_remote_artifacts').where({ remote_name: m.remote, relative_path: 'live.bin' }).first()
      assert.equal(pulled.unit_id, unit.id, 'the pulled path and the upload are one unit')
      await pulp.distributors.add('site', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'site' } })
      const task = await pulp.publish('site', 'web')
      assert.equal((await pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished')
      await pulp.repositories.removeContent('site', unit.id)
      // A superseded tree still on disk links to grace.bin's artifact.
      const graceDir = path.join(f.t.dataDir, 'publications', 'old', 'web', 'superseded')
      const graceSha = sha256(grace)
      await mkdir(graceDir, { recursive: true })
      await symlink(path.join(f.t.dataDir, 'artifacts', graceSha.slice(0, 2), graceSha.slice(2)), path.join(graceDir, 'grace.bin'))

      await q.setLimit(m.distribution, 0)
      await q.untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(plain), false, 'what nothing links to goes')
      assert.ok(await f.stored(live), 'the live publication keeps its file')
      assert.ok(await f.stored(grace), 'the grace-period publication keeps its file')
      const published = await f.get('site/live.bin')
      assert.equal(published.status, 200)
      assert.ok(published.body.equals(live))
      await q.hit(m, 'grace.bin', grace)
    })

    it('keeps a file something else needs: another repository, another distribution, a metadata cache entry', async () => {
      const { f, knex, q } = suite
      const m = await q.mirror('shared', null)
      const other = await q.mirror('elsewhere', null)
      const uploaded = await q.pull(m, 'uploaded.bin')
      const cachedTwice = await q.pull(m, 'twice.bin')
      const page = Buffer.from('<html>the same bytes as a cached metadata page</html>')
      const asMetadata = await q.pull(m, 'page.html', page)
      const alone = await q.pull(m, 'alone.bin')
      await f.t.pulp.repositories.create({ id: 'users' })
      await f.t.pulp.repositories.addContent('users', { file: uploaded, relativePath: 'a/copy.bin' })
      await q.pull(other, 'same.bin', cachedTwice)
      // A path ending in "/" is metadata: cached as an entry, with no unit.
      f.upstream.on(`/${other.dir}/index/`, serveFile(page))
      assert.equal((await f.get('elsewhere/index/')).status, 200)
      await f.untilHit('elsewhere/index/')

      await q.setLimit(m.distribution, 0)
      await q.untilEvictions(m.distribution, 1)
      assert.equal(await f.stored(alone), false, 'a file only this cache holds goes')
      assert.ok(await f.stored(uploaded), 'a user\'s upload in another repository keeps it')
      assert.ok(await f.stored(cachedTwice), 'another distribution\'s cache keeps it')
      assert.ok(await f.stored(asMetadata), 'a metadata cache entry keeps it')
      assert.equal(await q.cacheBytes(m.distribution), uploaded.length + cachedTwice.length + page.length)
      // Once the upload has left its repository and orphan cleanup removed its unit, its bytes may go too.
      const [unit] = (await f.t.pulp.repositories.listContent('users')).results
      await f.t.pulp.repositories.removeContent('users', unit.id)
      const task = await f.t.pulp.orphans.cleanup({ orphanProtectionTime: 0 })
      assert.equal((await f.t.pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'finished')
      assert.equal(await knex('pulp_units').where({ id: unit.id }).first(), undefined)
      await q.setLimit(m.distribution, 1)
      await q.untilEvictions(m.distribution, 2)
      assert.equal(await f.stored(uploaded), false)
    })

    it('evicts units of its own repository, unless that repository has a distributor (a publish would link them)', async () => {
      const { f, q } = suite
      await f.t.pulp.repositories.create({ id: 'scratch' })
      await f.t.pulp.repositories.create({ id: 'to-publish' })
      await f.t.pulp.distributors.add('to-publish', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'to-publish' } })
      const scratch = await q.mirror('scratch', null)
      await api(f.t).patch(`${API}/distributions/${scratch.distribution}`).send({ repository: 'scratch' }).expect(200)
      const kept = await q.mirror('kept', null)
      await api(f.t).patch(`${API}/distributions/${kept.distribution}`).send({ repository: 'to-publish' }).expect(200)
      const s1 = await q.pull(scratch, 's.bin')
      const k1 = await q.pull(kept, 'k.bin')
      assert.equal((await f.t.pulp.repositories.listContent('scratch')).count, 1)
      assert.equal((await f.t.pulp.repositories.listContent('to-publish')).count, 1)
      await api(f.t).patch(`${API}/distributions/${kept.distribution}`).send({ cache_max_bytes: 0 }).expect(200)
      await api(f.t).patch(`${API}/distributions/${scratch.distribution}`).send({ cache_max_bytes: 0 }).expect(200)
      assert.deepEqual(await q.reclaim(kept.distribution), { files: 0, bytes: 0, cached: SIZE, busy: false })
      assert.ok(await f.stored(k1))
      await q.untilEvictions(scratch.distribution, 1)
      assert.equal(await f.stored(s1), false)
      assert.equal((await f.t.pulp.repositories.listContent('scratch')).count, 1, 'the unit stays in its repository')
    })
  })
}
