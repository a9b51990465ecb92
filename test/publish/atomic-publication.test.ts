import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { existsSync } from 'node:fs'
import { readFile, readdir, readlink } from 'node:fs/promises'
import { WebDistributor, type PluginConfig, type PublishConduit, type PublishReport, type Repository } from '../../lib'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import type { TestPulp } from '../support/pulp'
import { API, addFile, api, sharedDatabase, startOn, waitForState, type SharedDatabase } from '../support/publish-env'
import { aborted, gate, type Gate } from '../support/publish-distributors'

/** A web distributor that holds before building, so a test can cancel it mid-publish. */
function gatedWeb (hold: { current: Gate }): typeof WebDistributor {
  return class GatedWeb extends WebDistributor {
    static override metadata (): { id: string, displayName: string, types: string[] } {
      return { id: 'gated-web', displayName: 'Gated web', types: ['file'] }
    }

    override async publishRepo (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
      await Promise.race([hold.current.promise, aborted(conduit.signal)])
      return await super.publishRepo(repo, conduit, config)
    }
  }
}

for (const d of dialects()) {
  describe(`atomic publication (${d.name})`, { skip: d.skip }, () => {
    let db: SharedDatabase
    let t: TestPulp
    const hold = { current: gate() }
    const GatedWeb = gatedWeb(hold)

    before(async () => {
      db = await sharedDatabase(d.name)
      t = await startOn(db, { publicationGracePeriod: 2, runner: { pollInterval: 0.05 }, plugins: [{ distributors: [GatedWeb] }] })
      await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
      await addFile(t, 'r', 'v.txt', 'version 1')
      await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'gated-web', distributor_config: { https: true } }).expect(201)
    })
    after(async () => {
      hold.current.open()
      await t?.cleanup()
      await db?.drop()
    })

    const link = (protocol: string, url = 'r'): string => path.join(db.dataDir, 'publish', protocol, url)
    const ownerDir = (): string => path.join(db.dataDir, 'publications', 'r', 'gated-web')
    const current = async (): Promise<string> => path.basename(await readlink(link('http')))

    async function publish (): Promise<void> {
      hold.current.open()
      const task = await t.pulp.tasks.wait((await t.pulp.publish('r', 'gated-web', { overrideConfig: { force_full: true } })).taskId, { timeout: 10 })
      assert.equal(task.state, 'finished', JSON.stringify(task.error))
    }

    it('switches the served link to each new publication, never leaving it missing', async () => {
      await publish()
      let reads = 0
      let misses = 0
      let stop = false
      const reader = (async () => {
        while (!stop) {
          try {
            await readFile(path.join(link('http'), 'v.txt'))
            reads++
          } catch {
            misses++
          }
        }
      })()
      const seen = new Set<string>()
      for (let i = 0; i < 5; i++) {
        await publish()
        seen.add(await current())
      }
      stop = true
      await reader
      assert.equal(seen.size, 5, 'every publish served a new publication')
      assert.ok(reads > 0)
      assert.equal(misses, 0, 'no reader ever found the link missing')
      assert.equal(await readlink(link('https')), await readlink(link('http')))
    })

    it('leaves the previous publication served, and no working directory, when a publish is canceled', async () => {
      const before = await current()
      hold.current = gate()
      await addFile(t, 'r', 'v.txt', 'version 2')
      const task = await t.pulp.publish('r', 'gated-web')
      await waitForState(t, task.taskId, ['running'])
      await eventually(async () => (await readdir(ownerDir())).some((e) => e.endsWith('.staging')), 5000, 'the working directory')
      await t.pulp.tasks.cancel(task.taskId)
      assert.equal((await t.pulp.tasks.wait(task.taskId)).state, 'canceled')
      assert.equal(await current(), before)
      assert.equal(await readFile(path.join(link('http'), 'v.txt'), 'utf8'), 'version 1')
      assert.deepEqual((await readdir(ownerDir())).filter((e) => e.endsWith('.staging')), [])
    })

    it('keeps a superseded publication for the grace period, then removes it', async () => {
      await publish()
      const old = await current()
      await publish()
      assert.notEqual(await current(), old)
      assert.ok(existsSync(path.join(ownerDir(), old, 'v.txt')), 'still readable right after the switch')
      await eventually(() => !existsSync(path.join(ownerDir(), old)), 10_000, 'the superseded publication to go')
      assert.equal(await readFile(path.join(link('http'), 'v.txt'), 'utf8'), 'version 2')
    })

    it('removes the link of a protocol turned off, and moves the links when relative_url changes', async () => {
      await t.pulp.distributors.update('r', 'gated-web', { distributorConfig: { https: false } })
      await publish()
      assert.equal(existsSync(link('https')), false)
      assert.ok(existsSync(link('http')))
      await t.pulp.distributors.update('r', 'gated-web', { distributorConfig: { relative_url: 'moved/r' } })
      await publish()
      assert.equal(existsSync(link('http')), false)
      assert.equal(await readFile(path.join(link('http', 'moved/r'), 'v.txt'), 'utf8'), 'version 2')
    })

    it('sweeps superseded publications left by a stopped instance once their grace period is over', async () => {
      await t.pulp.distributors.update('r', 'gated-web', { distributorConfig: { relative_url: null } })
      await publish()
      const old = await current()
      await publish()
      await t.cleanup()
      assert.ok(existsSync(path.join(ownerDir(), old)), 'close() stopped the pending removal')

      t = await startOn(db, { publicationGracePeriod: 300, plugins: [{ distributors: [GatedWeb] }] })
      assert.ok(existsSync(path.join(ownerDir(), old)), 'a restart does not cut the grace period short')
      await t.cleanup()

      t = await startOn(db, { publicationGracePeriod: 0, plugins: [{ distributors: [GatedWeb] }] })
      assert.equal(existsSync(path.join(ownerDir(), old)), false)
      assert.deepEqual(await readdir(ownerDir()), [await current()], 'only the served publication is left')
    })
  })
}
