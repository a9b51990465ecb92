import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { startPulp, type TestPulp } from '../support/pulp'
import { API, addFile, api, waitForState } from '../support/publish-env'
import { gate, scriptedDistributor } from '../support/publish-distributors'

describe('POST .../actions/publish?wait=SECONDS', () => {
  let t: TestPulp
  const held = gate()
  const slow = scriptedDistributor({ id: 'slow', publish: async ({ conduit }) => { await held.promise; return conduit.buildSuccessReport('late') } })
  const failing = scriptedDistributor({ id: 'failing', publish: async ({ conduit }) => conduit.buildFailureReport('no space') })

  before(async () => {
    t = await startPulp({ runner: { pollInterval: 0.05 }, plugins: [{ distributors: [slow.Class, failing.Class] }] })
    await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
    await addFile(t, 'r', 'a.txt', 'aaa')
    for (const type of ['web', 'slow', 'failing']) {
      await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: type }).expect(201)
    }
  })
  after(async () => { held.open(); await t?.cleanup() })

  it('answers 200 with the finished task, and the file is served by then', async () => {
    const res = await api(t).post(`${API}/repositories/r/actions/publish?wait=30`).send({ id: 'web' })
    assert.equal(res.status, 200)
    assert.equal(res.body.state, 'finished')
    assert.equal(res.body.distributor_id, 'web')
    const file = await api(t).get('/pulp/content/r/a.txt')
    assert.equal(file.status, 200)
    assert.equal(file.text, 'aaa')
  })

  it('answers 200 with a failed task too: it ended', async () => {
    const res = await api(t).post(`${API}/repositories/r/actions/publish?wait=30`).send({ id: 'failing' })
    assert.equal(res.status, 200)
    assert.equal(res.body.state, 'failed')
    assert.match(res.body.error.message, /no space/)
  })

  it('answers 202 with the task as it stands when it has not ended in time', async () => {
    const started = Date.now()
    const res = await api(t).post(`${API}/repositories/r/actions/publish?wait=0.3`).send({ id: 'slow' })
    assert.equal(res.status, 202)
    assert.ok(['waiting', 'running'].includes(res.body.state), res.body.state)
    assert.ok(Date.now() - started >= 250, 'it waited')
    held.open()
    await waitForState(t, res.body.task_id, ['finished'])
  })

  it('answers 202 at once without wait, as Pulp does', async () => {
    const res = await api(t).post(`${API}/repositories/r/actions/publish`).send({ id: 'web', override_config: { force_full: true } })
    assert.equal(res.status, 202)
    await waitForState(t, res.body.task_id, ['finished'])
  })

  for (const bad of ['-1', '61', 'soon', '1e3', '']) {
    it(`refuses wait=${JSON.stringify(bad)} with 400 and queues nothing`, async () => {
      const before = (await t.pulp.tasks.list({})).count
      const res = await api(t).post(`${API}/repositories/r/actions/publish?wait=${bad}`).send({ id: 'web' })
      assert.equal(res.status, 400)
      assert.match(res.body.error.message, /"wait"/)
      assert.equal((await t.pulp.tasks.list({})).count, before)
    })
  }
})
