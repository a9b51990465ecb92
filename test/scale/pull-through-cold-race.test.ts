import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startPullCluster, wireMirror, type PullCluster } from '../support/scale-pull-cluster'
import { serveFile, testBytes } from '../support/upstream-faults'

/**
 * Bursts of cold requests. Before the fix, requests retrying after "saved elsewhere" joined a
 * download another retry had started on a guess, and failed with it: on SQLite 1 to 3 bursts
 * of these 25 lost most of one instance's requests, in every run.
 */
const ROUNDS = 25
const PER_INSTANCE = 10

for (const d of dialects()) {
  describe(`one cold path asked of two instances at once (${d.name})`, { skip: d.skip }, () => {
    let c: PullCluster
    before(async () => {
      c = await startPullCluster({
        dialect: d.name,
        instances: 2,
        setup: wireMirror
      })
    })
    after(async () => { await c?.stop() })

    it(`answers ${ROUNDS} bursts of ${PER_INSTANCE} + ${PER_INSTANCE} requests for a cold path with the file every time`, async () => {
      const failures: string[] = []
      for (let round = 0; round < ROUNDS; round++) {
        const body = testBytes(32 * 1024 + round)
        c.upstream.on(`/files/cold${round}.bin`, serveFile(body))
        const results = await Promise.all(Array.from({ length: 2 * PER_INSTANCE }, async (_, i) => await c.get(i % 2, `mirror/cold${round}.bin`)))
        for (const r of results) {
          if (r.status !== 200 || !r.complete || !r.body.equals(body)) failures.push(`round ${round}: ${r.status} ${r.body.subarray(0, 200).toString()}`)
        }
      }
      assert.deepEqual(failures, [])
    })
  })
}
