import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { dialects } from '../support/databases'
import { eventually, filesBelow } from '../support/fs-wait'
import { artifactPath, countRows, upload, watchArtifact } from '../support/scale-pull-artifacts'
import { startPullCluster, type PullCluster } from '../support/scale-pull-cluster'
import { gate, serveFile, testBytes } from '../support/upstream-faults'
import { sha256, type FetchResult } from '../support/upstream-pulp'

const INSTANCES = 4

for (const d of dialects()) {
  describe(`instances writing the same bytes at once (${d.name})`, { skip: d.skip }, () => {
    let c: PullCluster
    /** Digests stored so far: the store must hold exactly these files. */
    const stored = new Set<string>()
    before(async () => {
      c = await startPullCluster({
        dialect: d.name,
        instances: INSTANCES,
        setup: async (pulp, upstream) => {
          await pulp.repositories.create({ id: 'uploads' })
          await pulp.repositories.create({ id: 'pulled' })
          // One remote per instance on the same upstream files: no lease is shared, so every
          // instance fetches and stores the same bytes itself.
          for (let i = 0; i < INSTANCES; i++) {
            await pulp.remotes.create({ name: `same${i}`, url: upstream.url('same/') })
            await pulp.distributions.create({ name: `same${i}`, basePath: `same${i}`, remote: `same${i}`, repository: 'pulled' })
          }
        }
      })
    })
    after(async () => { await c?.stop() })

    /** One read-only file with the right bytes, nothing else in the store, nothing left in tmp/. */
    async function assertOneArtifact (bytes: Buffer): Promise<void> {
      const digest = sha256(bytes)
      stored.add(digest)
      const file = artifactPath(c.dataDir, digest)
      const expected = [...stored].map((s) => `${s.slice(0, 2)}/${s.slice(2)}`).sort()
      assert.deepEqual(await filesBelow(path.join(c.dataDir, 'artifacts')), expected)
      const st = await stat(file)
      assert.equal(st.size, bytes.length)
      assert.equal(st.mode & 0o777, 0o444, 'artifacts are read-only')
      assert.equal(sha256(await readFile(file)), digest)
      assert.equal(await countRows(c.knex, 'pulp_artifacts', { sha256: digest }), 1)
      assert.equal(await countRows(c.knex, 'pulp_units', { sha256: digest }), 1)
      await eventually(async () => (await c.tmpFiles()).length === 0, 10_000, 'tmp/ to be empty')
    }

    it('turns simultaneous uploads of the same bytes into one artifact no reader ever sees partial', async () => {
      const bytes = testBytes(16 * 1024 * 1024)
      const watch = watchArtifact(artifactPath(c.dataDir, sha256(bytes)), bytes)
      const answers = await Promise.all(c.instances.map(async (_, i) =>
        await upload(c.url(i, '/pulp/api/v1/repositories/uploads/content'), bytes, 'pool/same.iso')))
      const seen = await watch.stop()
      for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body))
      assert.ok(seen.absent > 0 && seen.whole > 0, `the reader watched the file appear (${JSON.stringify(seen)})`)
      await assertOneArtifact(bytes)
      assert.equal(await countRows(c.knex, 'pulp_repository_units', { repository_id: 'uploads' }), 1)
    })

    it('turns simultaneous pull-throughs of the same bytes into one artifact no reader ever sees partial', async () => {
      const bytes = testBytes(8 * 1024 * 1024)
      const held = gate()
      c.upstream.on('/same/pkg.bin', serveFile(bytes, { chunk: 64 * 1024, gate: held.promise }))
      let started = 0
      const clients: Array<Promise<FetchResult>> = c.instances.map(async (_, i) =>
        await c.get(i, `same${i}/pkg.bin`, { onResponse: () => { started++ } }))
      await eventually(() => started === INSTANCES, 20_000, 'every instance fetching')
      const watch = watchArtifact(artifactPath(c.dataDir, sha256(bytes)), bytes)
      held.open()
      for (const r of await Promise.all(clients)) assert.ok(r.complete && r.body.equals(bytes))
      await eventually(async () => await countRows(c.knex, 'pulp_remote_artifacts', { relative_path: 'pkg.bin' }) === INSTANCES,
        20_000, 'every remote to record the path')
      const seen = await watch.stop()
      assert.ok(seen.absent > 0 && seen.whole > 0, `the reader watched the file appear (${JSON.stringify(seen)})`)
      assert.equal(c.upstream.hits('/same/pkg.bin', 'GET'), INSTANCES)
      await assertOneArtifact(bytes)
      assert.equal(await countRows(c.knex, 'pulp_repository_units', { repository_id: 'pulled' }), 1)
    })
  })
}
