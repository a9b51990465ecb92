import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, addFile, api } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'

for (const d of dialects()) {
  describe(`auto_publish (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const auto = scriptedDistributor({ id: 'auto' })

    before(async () => {
      t = await startPulp({
        dialect: d.name, autoPublishDelay: 0.5, runner: { pollInterval: 0.05 }, plugins: [{ distributors: [auto.Class] }]
      })
      for (const [r, autoPublish] of [['on', true], ['off', false]] as const) {
        await api(t).post(`${API}/repositories`).send({ id: r }).expect(201)
        await api(t).post(`${API}/repositories/${r}/distributors`).send({ distributor_type_id: 'auto', auto_publish: autoPublish }).expect(201)
      }
    })
    after(async () => { await t?.cleanup() })

    it('publishes once after several content changes close together', async () => {
      await Promise.all(['1', '2', '3', '4'].map(async (n) => { await addFile(t, 'on', `${n}.txt`, n) }))
      await eventually(async () => (await t.pulp.tasks.list({ repoId: 'on', state: 'finished' })).count === 1, 10_000, 'one finished publish')
      const publishes = auto.probe.published.filter((c) => c.repo.id === 'on')
      assert.equal(publishes.length, 1)
      assert.equal(publishes[0].repo.totalRepositoryUnits, 4, 'the publish saw every change of the burst')
    })

    it('publishes again after a later change, and removing a unit counts as a change', async () => {
      const [unit] = (await t.pulp.repositories.listContent('on')).results
      await t.pulp.repositories.removeContent('on', unit.id)
      await eventually(async () => (await t.pulp.tasks.list({ repoId: 'on', state: 'finished' })).count === 2, 10_000, 'a second publish')
      assert.equal(auto.probe.published.at(-1)?.repo.totalRepositoryUnits, 3)
    })

    it('leaves a distributor without auto_publish alone', async () => {
      await addFile(t, 'off', 'x.txt', 'x')
      await addFile(t, 'on', 'marker.txt', 'marker')
      // The marker's publish comes after the quiet period that would have published "off" too.
      await eventually(async () => (await t.pulp.tasks.list({ repoId: 'on', state: 'finished' })).count === 3, 10_000, 'the marker publish')
      assert.equal((await t.pulp.tasks.list({ repoId: 'off' })).count, 0)
    })
  })
}
