import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { countRows } from '../support/scale-pull-artifacts'
import { startPullCluster, wireMirror, type PullCluster } from '../support/scale-pull-cluster'
import { serveFile, stallAfter, testBytes } from '../support/upstream-faults'
import type { FetchResult } from '../support/upstream-pulp'

/**
 * Well under the 10 s a SQLite lease takes to run out, which is how long a request that
 * followed a dead leader's file used to wait before it was cut.
 */
const PROMPT_MS = 4000

for (const d of dialects()) {
  describe(`a pull-through leader killed mid-download (${d.name})`, { skip: d.skip }, () => {
    let c: PullCluster
    before(async () => {
      c = await startPullCluster({
        dialect: d.name,
        instances: 2,
        setup: wireMirror
      })
    })
    after(async () => { await c?.stop() })

    /** Instance 0 starts pulling `name`, which the upstream sends a little of, then nothing. */
    async function lead (name: string, body: Buffer): Promise<{ done: Promise<FetchResult | undefined> }> {
      c.upstream.on(`/files/${name}`, stallAfter(body, 64 * 1024))
      let leading = false
      const leader = c.get(0, `mirror/${name}`, { onResponse: () => { leading = true } }).catch(() => undefined)
      await eventually(() => leading, 10_000, `the leader of ${name} under way`)
      return { done: leader }
    }

    /** A request on instance 1 that must get all of `body`, promptly, from a fetch of its own. */
    async function fetchedAfresh (name: string, body: Buffer): Promise<void> {
      const asked = performance.now()
      const res = await c.get(1, `mirror/${name}`)
      assert.equal(res.status, 200)
      assert.ok(res.complete && res.body.equals(body), `the whole of ${name}, not the dead leader's partial file`)
      assert.ok(performance.now() - asked < PROMPT_MS, `${name} answered in ${Math.round(performance.now() - asked)} ms`)
      assert.equal(c.upstream.hits(`/files/${name}`, 'GET'), 2, 'one fetch by the dead leader, one by its successor')
    }

    it('is seen dead at once: its follower is cut promptly, and later requests fetch instead of streaming its file', async () => {
      const followed = testBytes(1024 * 1024)
      const unfollowed = testBytes(512 * 1024)
      const leaders = [await lead('followed.bin', followed), await lead('unfollowed.bin', unfollowed)]
      // Their rows say they stream (with their heads): what another instance would follow.
      await eventually(async () => await countRows(c.knex, 'pulp_pull_downloads', { state: 'streaming' }) === 2, 10_000, 'both leaders streaming')
      let following = false
      const follower = c.get(1, 'mirror/followed.bin', { onResponse: () => { following = true } })
      await eventually(() => following, 10_000, 'a client of instance 1 following the leader')
      // The upstream recovers; the dead leader's downloads never will.
      c.upstream.on('/files/followed.bin', serveFile(followed, { chunk: 64 * 1024 }))
      c.upstream.on('/files/unfollowed.bin', serveFile(unfollowed))

      await c.crash(0)
      const crashed = performance.now()
      for (const leader of leaders) assert.notEqual((await leader.done)?.complete, true)
      const cut = await follower
      assert.equal(cut.complete, false, 'a short body is never handed over as whole')
      assert.ok(performance.now() - crashed < PROMPT_MS, `the follower was cut ${Math.round(performance.now() - crashed)} ms after the crash`)

      // Nobody followed this one: its row still names the dead leader, and its partial file is there.
      await fetchedAfresh('unfollowed.bin', unfollowed)
      await fetchedAfresh('followed.bin', followed)
      // The successors removed the partial files the dead leader left in tmp/.
      await eventually(async () => await countRows(c.knex, 'pulp_pull_downloads') === 0 && (await c.tmpFiles()).length === 0,
        10_000, 'every download to be let go')
    })
  })
}
