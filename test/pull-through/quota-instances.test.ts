import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { sharedDatabase, startOn } from '../support/publish-env'
import type { TestPulp } from '../support/pulp'
import { serveFile, testBytes } from '../support/upstream-faults'
import { fetchRaw, sha256 } from '../support/upstream-pulp'
import { UpstreamServer } from '../support/upstream-server'

const SIZE = 1000

for (const d of dialects()) {
  describe(`pull-through quota on several instances (${d.name})`, { skip: d.skip }, () => {
    it('orders evictions by what every instance served, once each has written its times', async () => {
      const db = await sharedDatabase(d.name)
      const upstream = await UpstreamServer.start()
      const servers: Server[] = []
      const instances: TestPulp[] = []
      const listen = async (t: TestPulp): Promise<number> => {
        const server: Server = await new Promise((resolve) => { const s = t.app.listen(0, '127.0.0.1', () => resolve(s)) })
        servers.push(server)
        return (server.address() as AddressInfo).port
      }
      try {
        const one = await startOn(db)
        instances.push(one)
        const two = await startOn(db)
        instances.push(two)
        const [onePort, twoPort] = [await listen(one), await listen(two)]
        await one.pulp.remotes.create({ name: 'up', url: upstream.url('files/') })
        await one.pulp.distributions.create({ name: 'shared', basePath: 'shared', remote: 'up', cacheMaxBytes: 2 * SIZE + SIZE / 2 })
        const bodies = new Map(['a', 'b', 'c'].map((name) => [name, testBytes(SIZE)]))
        for (const [name, body] of bodies) upstream.on(`/files/${name}.bin`, serveFile(body))
        const stored = (name: string): boolean => {
          const sha = sha256(bodies.get(name) as Buffer)
          return existsSync(path.join(db.dataDir, 'artifacts', sha.slice(0, 2), sha.slice(2)))
        }
        const get = async (port: number, name: string): Promise<string | undefined> => {
          const res = await fetchRaw(port, `/pulp/content/shared/${name}.bin`)
          assert.equal(res.status, 200)
          assert.ok(res.body.equals(bodies.get(name) as Buffer))
          return res.headers['x-pulp-cache'] as string | undefined
        }
        await get(onePort, 'a')
        await eventually(async () => await get(onePort, 'a') === 'HIT', 5000, 'a saved')
        await get(onePort, 'b')
        await eventually(async () => await get(onePort, 'b') === 'HIT', 5000, 'b saved')
        // The other instance serves a last: only it knows, until it writes its times (on close here).
        assert.equal(await get(twoPort, 'a'), 'HIT')
        await two.cleanup()
        await get(onePort, 'c')
        await eventually(() => !stored('b'), 10_000, 'b evicted')
        assert.ok(stored('a'), 'a, served last by the other instance, stays')
        assert.ok(stored('c'))
        assert.equal(await get(onePort, 'b'), 'MISS', 'b is pulled again')
      } finally {
        for (const s of servers) {
          s.closeAllConnections()
          await new Promise((resolve) => s.close(resolve))
        }
        for (const t of instances) await t.cleanup()
        await upstream.close()
        await db.drop()
      }
    })
  })
}
