import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import net from 'node:net'
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { eventually, filesBelow } from '../support/fs-wait'
import { SMALL_PART } from '../../lib/artifacts/store'

const API = '/pulp/api/v1'
/** Past SMALL_PART, so a part can stream to its temp file below the limit. */
const MAX_UPLOAD = SMALL_PART + 64 * 1024
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

for (const d of dialects()) {
  describe(`uploads of several files per request (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    const units = async (repo: string): Promise<Array<{ relative_path: string, sha256: string }>> =>
      (await request(t.app).get(`${API}/repositories/${repo}/content?limit=1000`).expect(200)).body.results
    const artifacts = async (): Promise<string[]> => await filesBelow(path.join(t.dataDir, 'artifacts'))
    before(async () => {
      t = await startPulp({ dialect: d.name, maxUploadSize: MAX_UPLOAD })
      for (const id of ['multi', 'bad', 'big', 'cut', 'bypath', 'code']) await request(t.app).post(`${API}/repositories`).send({ id }).expect(201)
    })
    after(async () => { await t?.cleanup() })

    it('adds every part, each at the relative_path placed before it or at its file name, and answers 201 with all units', async () => {
      const res = await request(t.app).post(`${API}/repositories/multi/content`)
        .field('relative_path', 'a/one.txt').attach('file', Buffer.from('one'), 'x1')
        .attach('file', Buffer.from('two'), 'two.txt')
        .field('relative_path', 'b/c/three.txt').attach('file', Buffer.from('three'), 'x3')
      assert.equal(res.status, 201)
      assert.deepEqual(res.body.units.map((u: { relative_path: string, sha256: string }) => [u.relative_path, u.sha256]),
        [['a/one.txt', sha('one')], ['two.txt', sha('two')], ['b/c/three.txt', sha('three')]])
      assert.deepEqual((await units('multi')).map((u) => u.relative_path), ['a/one.txt', 'b/c/three.txt', 'two.txt'])
      const repo = await request(t.app).get(`${API}/repositories/multi`).expect(200)
      assert.equal(repo.body.total_repository_units, 3)
    })

    it('adds none when one part has a bad path, and the 400 names that part', async () => {
      const before = await artifacts()
      const res = await request(t.app).post(`${API}/repositories/bad/content`)
        .field('relative_path', 'fine.txt').attach('file', Buffer.from('fine bytes'), 'f')
        .field('relative_path', 'also/fine.txt').attach('file', Buffer.from('also fine'), 'f')
        .field('relative_path', 'x/../escape').attach('file', Buffer.from('bad bytes'), 'f')
      assert.equal(res.status, 400)
      assert.match(res.body.error.message, /^file part 3 \("x\/\.\.\/escape"\): .*"\.\." segment/)
      assert.deepEqual(await units('bad'), [])
      assert.deepEqual(await artifacts(), before)
      await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === 0, 5000, 'tmp/ to empty')
    })

    it('refuses the same relative_path twice in one request', async () => {
      const res = await request(t.app).post(`${API}/repositories/bad/content`)
        .field('relative_path', 'twice').attach('file', Buffer.from('1'), 'f')
        .field('relative_path', 'twice').attach('file', Buffer.from('2'), 'f')
      assert.equal(res.status, 400)
      assert.match(res.body.error.message, /file part 2 .*already in this request/)
      assert.deepEqual(await units('bad'), [])
    })

    it('answers 413 when a later part is past maxUploadSize, keeping none of the earlier ones', async () => {
      const before = await artifacts()
      const res = await request(t.app).post(`${API}/repositories/big/content`)
        .attach('file', Buffer.from('small first part'), 'small.txt')
        .attach('file', Buffer.alloc(MAX_UPLOAD + 1024, 7), 'big.bin')
      assert.equal(res.status, 413)
      await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === 0, 5000, 'tmp/ to empty')
      assert.deepEqual(await artifacts(), before)
      assert.deepEqual(await units('big'), [])
    })

    // The part being sent when the client goes: one larger than SMALL_PART streams to its own
    // temp file, a smaller one is still in memory (only the finished first part is on disk).
    for (const [kind, size, onDisk] of [['streamed', SMALL_PART + 30 * 1024, 2], ['small', 30 * 1024, 1]] as const) {
      it(`leaves no temp file and no unit when the client disconnects after the first part (${kind} part cut)`, async () => {
        const server = t.app.listen(0, '127.0.0.1')
        await new Promise((resolve) => server.once('listening', resolve))
        let socket: net.Socket | undefined
        try {
          const { port } = server.address() as AddressInfo
          const b = 'xxBOUNDARYxx'
          const part = (name: string): string => `--${b}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`
          socket = net.connect(port, '127.0.0.1')
          await new Promise((resolve) => socket?.once('connect', resolve))
          socket.write(`POST ${API}/repositories/cut/content HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: 1000000\r\n\r\n`)
          socket.write(`${part('whole.bin')}complete first part\r\n${part('cut.bin')}`)
          socket.write(Buffer.alloc(size, 9))
          await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === onDisk, 5000, `${onDisk} part(s) to reach tmp/`)
          socket.destroy()
          await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === 0, 5000, 'tmp/ to empty')
          assert.deepEqual(await units('cut'), [])
          assert.ok(!(await artifacts()).includes(`${sha('complete first part').slice(0, 2)}/${sha('complete first part').slice(2)}`))
        } finally {
          // A failed wait must not leave the connection (and the test process) open.
          socket?.destroy()
          server.close()
        }
      })
    }

    it('finds a unit with ?relative_path= and removes it with DELETE ?relative_path=', async () => {
      await request(t.app).post(`${API}/repositories/bypath/content`)
        .field('relative_path', 'dir/a b.txt').attach('file', Buffer.from('a'), 'f')
        .field('relative_path', 'dir/other.txt').attach('file', Buffer.from('o'), 'f').expect(201)
      const found = await request(t.app).get(`${API}/repositories/bypath/content`).query({ relative_path: 'dir/a b.txt' }).expect(200)
      assert.equal(found.body.count, 1)
      assert.equal(found.body.results[0].sha256, sha('a'))
      const none = await request(t.app).get(`${API}/repositories/bypath/content`).query({ relative_path: 'dir/missing' }).expect(200)
      assert.deepEqual(none.body, { count: 0, results: [] })
      assert.equal((await request(t.app).get(`${API}/repositories/bypath/content`).query({ relative_path: '../x' })).status, 400)

      await request(t.app).delete(`${API}/repositories/bypath/content`).query({ relative_path: 'dir/a b.txt' }).expect(204)
      assert.deepEqual((await units('bypath')).map((u) => u.relative_path), ['dir/other.txt'])
      const again = await request(t.app).delete(`${API}/repositories/bypath/content`).query({ relative_path: 'dir/a b.txt' })
      assert.equal(again.status, 404)
      assert.match(again.body.error.message, /no unit at "dir\/a b.txt"/)
      assert.equal((await request(t.app).delete(`${API}/repositories/bypath/content`)).status, 400)
      const repo = await request(t.app).get(`${API}/repositories/bypath`).expect(200)
      assert.match(repo.body.last_unit_removed, /^\d{4}-/)
    })

    it('does the same through the programmatic API: addContents all or none, listContent by path, removeContentByPath', async () => {
      const added = await t.pulp.repositories.addContents('code', [
        { file: Buffer.from('p1'), relativePath: 'p/1' },
        { file: Buffer.from('p2'), relativePath: 'p/2' }
      ])
      assert.deepEqual(added.map((u) => u.sha256), [sha('p1'), sha('p2')])
      await assert.rejects(t.pulp.repositories.addContents('code', [
        { file: Buffer.from('p3'), relativePath: 'p/3' },
        { file: Buffer.from('p4'), relativePath: '/abs' }
      ]), { code: 'ERR_PULP_INVALID' })
      const page = await t.pulp.repositories.listContent('code', { relativePath: 'p/2' })
      assert.deepEqual(page.results.map((u) => u.relativePath), ['p/2'])
      await t.pulp.repositories.removeContentByPath('code', 'p/1')
      assert.deepEqual((await units('code')).map((u) => u.relative_path), ['p/2'])
      await assert.rejects(t.pulp.repositories.removeContentByPath('code', 'p/1'), { code: 'ERR_PULP_NOT_FOUND' })
    })
  })
}
