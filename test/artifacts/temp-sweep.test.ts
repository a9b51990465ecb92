import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises'
import type { ChildProcess } from 'node:child_process'
import knexFactory from 'knex'
import { TempSweeper } from '../../lib/artifacts/temp-sweep'
import { createContext } from '../../lib/core/context'
import { resolveOptions } from '../../lib/options'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { startScript, stop } from '../support/processes'
import { sharedDatabase, startOn, type SharedDatabase } from '../support/publish-env'
import { slowUpload } from '../support/slow-upload'

const INSTANCE = path.join(__dirname, '..', 'support', 'scale-instance.ts')
const MiB = 1024 * 1024

/** An instance in its own process; READY gives its base URL and instance id. */
async function spawnInstance (
  db: SharedDatabase,
  name: string,
  runner: unknown
): Promise<{ child: ChildProcess, url: string, id: string }> {
  const { child, match } = await startScript(INSTANCE, [], {
    SCALE_NAME: name, SCALE_DATA_DIR: db.dataDir, SCALE_LOG_DIR: db.dataDir, SCALE_DATABASE: db.describe(), SCALE_RUNNER: JSON.stringify(runner), DEBUG: ''
  }, /READY \S+ (\S+) (\S+) \d+/)
  return { child, url: match[1], id: match[2] }
}

async function tmpNames (db: SharedDatabase): Promise<string[]> {
  return await readdir(path.join(db.dataDir, 'tmp'))
}

/** Waits until `count` of the instance's upload temp files hold at least `bytes` each; their names. */
async function partsOf (db: SharedDatabase, instanceId: string, bytes: number, count = 1): Promise<string[]> {
  let found: string[] = []
  await eventually(async () => {
    found = []
    for (const name of await tmpNames(db)) {
      if (name.startsWith(`${instanceId}.`) && name.endsWith('.part') && (await stat(path.join(db.dataDir, 'tmp', name))).size >= bytes) found.push(name)
    }
    return found.length >= count
  }, 10_000, `${count} upload temp file(s) of ${instanceId}`)
  return found
}

for (const d of dialects()) {
  describe(`the temp sweep (${d.name})`, { skip: d.skip }, () => {
    it("removes a SIGKILLed instance's upload files at start-up, never a live instance's", { timeout: 90_000 }, async () => {
      const db = await sharedDatabase(d.name)
      const children: ChildProcess[] = []
      try {
        // Without a runner, an instance still beats (for this sweep).
        const [victim, live] = await Promise.all([spawnInstance(db, 'victim', {}), spawnInstance(db, 'live', false)])
        children.push(victim.child, live.child)
        const created = await fetch(`${victim.url}/api/v1/repositories`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'up' }) })
        assert.equal(created.status, 201)

        const crashed = [slowUpload(victim.url, 'up', 'a.bin', 64 * MiB), slowUpload(victim.url, 'up', 'b.bin', 64 * MiB)]
        for (const u of crashed) await u.send(Buffer.alloc(2 * MiB, 1))
        await partsOf(db, victim.id, 2 * MiB, 2)
        const exited = new Promise((resolve) => victim.child.once('exit', resolve))
        victim.child.kill('SIGKILL')
        await exited
        const left = (await tmpNames(db)).filter((n) => n.startsWith(`${victim.id}.`))
        assert.equal(left.length, 2, `two crashed uploads left their files: ${left.join(', ')}`)

        const running = slowUpload(live.url, 'up', 'c.bin', 3 * MiB)
        await running.send(Buffer.alloc(MiB, 2))
        const [livePart] = await partsOf(db, live.id, MiB)

        const tmp = path.join(db.dataDir, 'tmp')
        const oldUnnamed = `${randomUUID()}.part`
        const newUnnamed = `${randomUUID()}.pull`
        await writeFile(path.join(tmp, oldUnnamed), 'from an older version, long still')
        await utimes(path.join(tmp, oldUnnamed), new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000))
        await writeFile(path.join(tmp, newUnnamed), 'from an older version, still written')

        const sweeper = await startOn(db, { runner: { pollInterval: 0.05 } })
        try {
          const names = await tmpNames(db)
          assert.deepEqual(names.filter((n) => n.startsWith(`${victim.id}.`)), [], 'the dead instance\'s files are gone')
          assert.ok(names.includes(livePart), 'the live upload\'s file stays')
          assert.ok(!names.includes(oldUnnamed), 'an unnamed file still for hours goes')
          assert.ok(names.includes(newUnnamed), 'an unnamed file changed recently stays')

          await running.send(Buffer.alloc(MiB, 3))
          const answer = await running.finish()
          assert.equal(answer.status, 201, JSON.stringify(answer.body))
          assert.equal((answer.body as { units: Array<{ sha256: string }> }).units[0].sha256, running.sha256(), 'the live upload was stored whole')
          assert.equal((await tmpNames(db)).includes(livePart), false, 'and its temp file went with it')
        } finally {
          await sweeper.cleanup()
        }
      } finally {
        for (const child of children) if (child.signalCode === null) await stop(child)
        await db.drop()
      }
    })

    it('sweeps periodically what this instance no longer holds, and what an instance gone since left', { timeout: 30_000 }, async () => {
      const db = await sharedDatabase(d.name)
      const knex = knexFactory({ ...db.config, useNullAsDefault: true })
      const instanceId = randomUUID()
      const ctx = createContext(resolveOptions({ dataDir: db.dataDir, runner: false }), { knex, dialect: d.name }, instanceId)
      const { artifacts } = ctx
      const other = await startOn(db, { runner: false })
      const sweeper = new TempSweeper(ctx, { everyMs: 100 })
      try {
        await mkdir(artifacts.tmpDir, { recursive: true })
        const held = artifacts.temp.create('part')
        await writeFile(held, 'in use')
        const leaked = path.join(artifacts.tmpDir, `${instanceId}.${randomUUID()}.pull`)
        await writeFile(leaked, 'no longer held')
        const othersId = (await other.pulp.status()).runner.instanceId
        const others = path.join(artifacts.tmpDir, `${othersId}.${randomUUID()}.part`)
        await writeFile(others, 'another live instance')
        await sweeper.start()
        const names = (): Promise<string[]> => readdir(artifacts.tmpDir)
        assert.deepEqual((await names()).sort(), [path.basename(held), path.basename(others)].sort())

        await other.cleanup()
        await eventually(async () => !(await names()).includes(path.basename(others)), 5000, 'the closed instance\'s file to go')
        assert.ok((await names()).includes(path.basename(held)), 'a held name is never swept')
        await artifacts.temp.release(held)
        assert.deepEqual(await names(), [])
      } finally {
        await sweeper.close()
        await other.cleanup()
        await knex.destroy()
        await db.drop()
      }
    })
  })
}
