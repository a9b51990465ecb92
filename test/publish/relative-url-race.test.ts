import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fork, type ChildProcess } from 'node:child_process'
import { dialects } from '../support/databases'
import { sharedDatabase, startOn, type SharedDatabase } from '../support/publish-env'

const CHILD = path.join(__dirname, '../support/distributor-add-child.ts')
const ROUNDS = 30

interface AddReply { id: number, ok: boolean, code?: string, message?: string }

/** A child process with its own instance on `db`, adding web distributors on request. */
async function startAdder (
  db: SharedDatabase
): Promise<{ add: (repoId: string, relativeUrl: string) => Promise<AddReply>, close: () => Promise<void> }> {
  const child: ChildProcess = fork(CHILD, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PULP_CHILD_DATA_DIR: db.dataDir, PULP_CHILD_DATABASE: db.describe() },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const waiting = new Map<number, (reply: AddReply) => void>()
  let next = 0
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the child exited with ${code} before it was ready`)))
    child.on('message', (message: AddReply | 'ready') => {
      if (message === 'ready') resolve()
      else waiting.get(message.id)?.(message)
    })
  })
  return {
    add: async (repoId, relativeUrl) => await new Promise<AddReply>((resolve) => {
      const id = ++next
      waiting.set(id, resolve)
      child.send({ id, repoId, relativeUrl })
    }),
    close: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send('close')
      await exited
    }
  }
}

for (const d of dialects()) {
  describe(`relative_url uniqueness across processes (${d.name})`, { skip: d.skip }, () => {
    it('stores exactly one of two overlapping web distributors added at once from two processes', async (t) => {
      const db = await sharedDatabase(d.name)
      const setup = await startOn(db, { runner: false })
      const adders = await Promise.all([startAdder(db), startAdder(db)])
      const refusals: Record<string, number> = {}
      try {
        for (let i = 0; i < ROUNDS; i++) {
          const repos = [`a${i}`, `b${i}`]
          for (const id of repos) await setup.pulp.repositories.create({ id })
          // Equal on even rounds, nested on odd ones: both overlap.
          const urls = [`tree-${i}`, i % 2 === 0 ? `tree-${i}` : `tree-${i}/inner`]
          const replies = await Promise.all([adders[0].add(repos[0], urls[0]), adders[1].add(repos[1], urls[1])])
          const stored = (await Promise.all(repos.map(async (r) => (await setup.pulp.distributors.list(r)).count))).reduce((a, b) => a + b)
          assert.equal(stored, 1, `round ${i}: ${JSON.stringify(replies)}`)
          assert.equal(replies.filter((r) => r.ok).length, 1, `round ${i}: ${JSON.stringify(replies)}`)
          const refused = replies.find((r) => !r.ok) as AddReply
          // 409 when the other add was stored while this one ran; 400, as for any add, when it came first.
          assert.ok(refused.code === 'ERR_PULP_CONFLICT' || refused.code === 'ERR_PULP_INVALID_CONFIG', `round ${i}: ${JSON.stringify(refused)}`)
          assert.match(String(refused.message), /^relative_url "tree-\d+(\/inner)?" (is already used by|overlaps) "tree-\d+(\/inner)?" of distributor "web" of repository "[ab]\d+"/)
          refusals[String(refused.code)] = (refusals[String(refused.code)] ?? 0) + 1
        }
        t.diagnostic(`refusals: ${JSON.stringify(refusals)}`)
      } finally {
        await Promise.all(adders.map(async (a) => { await a.close() }))
        await setup.cleanup()
        await db.drop()
      }
    })
  })
}
