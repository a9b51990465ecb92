import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { addFile } from '../support/publish-env'
import { serveFile } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

for (const d of dialects()) {
  describe(`no unit can make a web publish fail (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let seq = 0

    before(async () => { f = await startPullThrough({ dialect: d.name, runner: { pollInterval: 0.05 } }) })
    after(async () => { await f?.cleanup() })

    async function repoWithWeb (): Promise<string> {
      const id = `reserved-${++seq}`
      await f.t.pulp.repositories.create({ id })
      await f.t.pulp.distributors.add(id, { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: `published/${id}` } })
      return id
    }

    async function publish (repoId: string): Promise<{ summary: Record<string, unknown> }> {
      const task = await f.t.pulp.tasks.wait((await f.t.pulp.publish(repoId, 'web', { overrideConfig: { force_full: true } })).taskId, { timeout: 10 })
      assert.equal(task.state, 'finished', JSON.stringify(task.error))
      return task.result as { summary: Record<string, unknown> }
    }

    it('publishes after an anonymous GET of <base>/PULP_MANIFEST through a pull-through distribution', async () => {
      const r = await repoWithWeb()
      await f.wire('reserved', { dir: 'reserved-up/' }, r)
      const upstreamManifest = Buffer.from('upstream,0000,1\n')
      const body = Buffer.from('pulled bytes')
      f.upstream.on('/reserved-up/PULP_MANIFEST', serveFile(upstreamManifest))
      f.upstream.on('/reserved-up/a.txt', serveFile(body))
      assert.ok((await f.get('reserved/PULP_MANIFEST')).body.equals(upstreamManifest))
      assert.ok((await f.get('reserved/a.txt')).body.equals(body))
      await f.untilHit('reserved/a.txt')
      // Whether the upstream's manifest became a unit depends on the remote type (a metadata path
      // never does); the publish must hold either way.
      const isUnit = async (): Promise<boolean> => (await f.t.pulp.repositories.listContent(r)).results.some((u) => u.relativePath === 'PULP_MANIFEST')
      await eventually(isUnit, 2000).catch(() => {})
      const pulledAsUnit = await isUnit()

      const first = await publish(r)
      const second = await publish(r)
      const served = await f.get(`published/${r}/PULP_MANIFEST`)
      assert.equal(served.status, 200)
      assert.equal(served.body.toString(), `a.txt,${sha256(body)},${body.length}\n`, 'the distributor writes its own manifest')
      assert.equal(served.headers['x-pulp-cache'], undefined, 'served by the static tree')
      assert.ok((await f.get(`published/${r}/a.txt`)).body.equals(body))
      for (const result of [first, second]) {
        assert.equal(result.summary.units, 1)
        if (pulledAsUnit) assert.match(String((result.summary.warnings as string[])[0]), /unit "PULP_MANIFEST" was not published/)
      }
    })

    it('leaves uploaded units at or under PULP_MANIFEST out, with a warning, and keeps them in the repository', async () => {
      const r = await repoWithWeb()
      await addFile(f.t, r, 'PULP_MANIFEST', 'not a manifest')
      await addFile(f.t, r, 'PULP_MANIFEST/inner.txt', 'under the manifest')
      await addFile(f.t, r, 'ok.txt', 'fine')
      const result = await publish(r)
      assert.equal(result.summary.units, 1)
      assert.deepEqual(result.summary.warnings, [
        'unit "PULP_MANIFEST" was not published: "PULP_MANIFEST" is where the manifest goes (set "manifest": false or move the unit)',
        'unit "PULP_MANIFEST/inner.txt" was not published: "PULP_MANIFEST" is where the manifest goes (set "manifest": false or move the unit)'
      ])
      assert.equal((await f.get(`published/${r}/PULP_MANIFEST`)).body.toString(), `ok.txt,${sha256(Buffer.from('fine'))},4\n`)
      assert.equal((await f.get(`published/${r}/ok.txt`)).body.toString(), 'fine')
      assert.equal((await f.t.pulp.repositories.listContent(r)).count, 3, 'the units stay in the repository')

    })
  })
}
