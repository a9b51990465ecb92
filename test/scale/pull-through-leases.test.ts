import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { Knex } from 'knex'
import { openConnection } from '../../lib/storage/connection'
import { migrateLatest } from '../../lib/storage/migrations'
import { PullLeases, type PullLeaseOptions } from '../../lib/storage/pull-leases'
import { upsertRemoteArtifact } from '../../lib/storage/remote-artifacts'
import { associateUnit, ensureUnit } from '../../lib/storage/units'
import { createPgDatabase, dialects, type TestDatabase } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { tempDir } from '../support/pulp'
import { countRows } from '../support/scale-pull-artifacts'

const TARGET = { remoteName: 'up', relativePath: 'a/b.bin' }
const SHA = 'ab'.repeat(32)

for (const d of dialects()) {
  describe(`pull-through leases and records across connections (${d.name})`, { skip: d.skip }, () => {
    let dir: string
    let db: TestDatabase | undefined
    let config: Knex.Config
    /** Every connection opened, as if each were another instance. */
    const opened: Knex[] = []
    const leases: PullLeases[] = []

    before(async () => {
      dir = await tempDir('pulp-leases-')
      db = d.name === 'postgresql' ? await createPgDatabase() : undefined
      config = db?.config ?? { client: 'sqlite3', connection: { filename: path.join(dir, 'pulp.sqlite') } }
      await migrateLatest(connect())
    })
    after(async () => {
      for (const l of leases) await l.close()
      for (const k of opened) await k.destroy()
      await db?.drop()
      await rm(dir, { recursive: true, force: true })
    })

    function connect (): Knex {
      const { knex } = openConnection(config, dir)
      opened.push(knex)
      return knex
    }

    /** Another instance's view of the leases. */
    function instance (options?: PullLeaseOptions): PullLeases {
      const l = new PullLeases(connect(), d.name, options)
      leases.push(l)
      return l
    }

    it('gives a path to one leader among many at once, and to the next once it lets go', async () => {
      const contenders = Array.from({ length: 8 }, () => instance())
      const claims = await Promise.all(contenders.map(async (l, i) => await l.tryLead('k1', `owner${i}`, `f${i}.pull`, TARGET)))
      const winners = claims.filter((c) => c !== undefined)
      assert.equal(winners.length, 1)
      const winner = contenders[claims.findIndex((c) => c !== undefined)]
      assert.equal(await winner.tryLead('k1', 'again', 'g.pull', TARGET), undefined, 'not twice from one instance either')
      assert.equal((await winner.read('k1'))?.state, 'starting')
      await winners[0]?.lease.update({ state: 'streaming', head: '{}' })
      assert.equal((await contenders[0].read('k1'))?.state, 'streaming')
      await winners[0]?.lease.release()
      assert.equal(await contenders[0].read('k1'), undefined, 'a success leaves no row')
      const next = await contenders[3].tryLead('k1', 'next', 'n.pull', TARGET)
      assert.ok(next !== undefined)
      assert.equal(next.previousFile, null)
      await next.lease.release()
    })

    it('keeps a failure readable for a moment, without keeping the next leader out', async () => {
      const a = instance()
      const b = instance()
      const failure = '{"code":"ERR_PULP_NOT_FOUND","message":"gone"}'
      const claim = await a.tryLead('k2', 'a', 'a.pull', TARGET)
      assert.ok(claim !== undefined)
      await claim.lease.release({ failure, keepMs: 1000 })
      const row = await b.read('k2')
      assert.equal(row?.state, 'failed')
      assert.equal(row?.error, failure)
      await eventually(async () => await b.read('k2') === undefined, 10_000, 'the failure to go')

      const again = await a.tryLead('k2b', 'a', 'a.pull', TARGET)
      await again?.lease.release({ failure, keepMs: 60_000 })
      const next = await b.tryLead('k2b', 'b', 'b.pull', TARGET)
      assert.ok(next !== undefined, 'a recorded failure is no lease')
      await next.lease.release()
    })

    it('hands a dead leader\'s path to a successor, naming the file it left', async () => {
      // A short lease, so SQLite's successor need not wait long; PostgreSQL's lock goes with the connection.
      const dying = instance({ leaseMs: 300 })
      const successor = instance({ leaseMs: 300 })
      assert.ok(await dying.tryLead('k3', 'dead', 'dead.pull', TARGET) !== undefined)
      await dying.close()
      let claim: Awaited<ReturnType<PullLeases['tryLead']>>
      await eventually(async () => (claim = await successor.tryLead('k3', 'alive', 'alive.pull', TARGET)) !== undefined, 10_000, 'the successor to lead')
      assert.equal(claim?.previousFile, 'dead.pull')
      assert.equal(claim?.lease.held, true)
      await claim?.lease.release()
    })

    it('names the leader\'s host and pid, and lets a successor that saw it dead take over at once', async () => {
      const dying = instance({ process: { host: 'host-a', pid: 4242 } })
      const successor = instance()
      const claim = await dying.tryLead('k6', 'dead', 'dead.pull', TARGET)
      assert.ok(claim !== undefined)
      const row = await successor.read('k6')
      assert.equal(row?.host, 'host-a')
      assert.equal(row?.pid, 4242)
      assert.equal(await successor.tryLead('k6', 'alive', 'alive.pull', TARGET), undefined, 'a live lease is no one else\'s')
      assert.equal(await successor.tryLead('k6', 'alive', 'alive.pull', TARGET, 'someone-else'), undefined, 'only the leader seen dead is replaced')
      const taken = await successor.tryLead('k6', 'alive', 'alive.pull', TARGET, 'dead')
      if (d.name === 'sqlite') {
        assert.equal(taken?.previousFile, 'dead.pull', 'its lease is taken before it runs out')
        await taken?.lease.release()
      } else {
        // PostgreSQL's lock decides, and this one's connection still holds it.
        assert.equal(taken, undefined)
        await claim.lease.release()
      }
    })

    it('tells a new leader the path was saved meanwhile', async () => {
      const knex = connect()
      const unit = await ensureUnit(knex, { typeId: 'file', relativePath: 'b.bin', sha256: SHA, size: 3 })
      await upsertRemoteArtifact(knex, { ...TARGET, unitId: unit.id, sha256: SHA, size: 3, contentType: null, contentEncoding: null })
      const claim = await instance().tryLead('k4', 'late', 'late.pull', TARGET)
      assert.equal(claim?.savedSha256, SHA)
      await claim?.lease.release()
    })

    it('records one unit and one association when instances save the same unit at once', async () => {
      const knex = connect()
      await knex('pulp_repositories').insert({ id: 'race', notes: '{}', content_version: 0, created: 'x', updated: 'x' })
      const unit = { typeId: 'file', relativePath: 'race.bin', sha256: 'cd'.repeat(32), size: 9 }
      const connections = Array.from({ length: 4 }, () => connect())
      const changed = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
        const k = connections[i % connections.length]
        return await associateUnit(k, 'race', await ensureUnit(k, unit))
      }))
      assert.equal(changed.filter(Boolean).length, 1, 'only the instance that added it reports a change')
      assert.equal(await countRows(knex, 'pulp_units', { relative_path: 'race.bin' }), 1)
      assert.equal(await countRows(knex, 'pulp_repository_units', { repository_id: 'race' }), 1)
      const [{ version }] = await knex('pulp_repositories').where({ id: 'race' }).select({ version: 'content_version' }) as Array<{ version: number | string }>
      assert.equal(Number(version), 1, 'one content change')
    })
  })
}
