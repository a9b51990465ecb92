import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import net from 'node:net'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { eventually, filesBelow } from '../support/fs-wait'
import { SMALL_PART } from '../../lib/artifacts/store'

const API = '/pulp/api/v1'
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** Past SMALL_PART, so a part can stream to its temp file below the limit. */
const MAX_UPLOAD = SMALL_PART + 64 * 1024

for (const d of dialects()) {
  describe(`uploads (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    before(async () => {
      t = await startPulp({ dialect: d.name, maxUploadSize: MAX_UPLOAD })
      for (const id of ['up', 'other', 'limits', 'aborts']) await request(t.app).post(`${API}/repositories`).send({ id }).expect(201)
    })
    after(async () => { await t?.cleanup() })

    it('stores a file by sha256 and answers 201 {units:[...]}, relative_path defaulting to the file name', async () => {
      const body = Buffer.from('first file\n')
      const res = await request(t.app).post(`${API}/repositories/up/content`).attach('file', body, 'hello.txt')
      assert.equal(res.status, 201)
      assert.equal(res.body.units.length, 1)
      const unit = res.body.units[0]
      assert.equal(unit.relative_path, 'hello.txt')
      assert.equal(unit.sha256, sha(body))
      assert.equal(unit.size, body.length)
      assert.equal(unit.type_id, 'file')
      const onDisk = path.join(t.dataDir, 'artifacts', unit.sha256.slice(0, 2), unit.sha256.slice(2))
      assert.deepEqual(await readFile(onDisk), body)
    })

    it('keeps a UTF-8 file name intact', async () => {
      const res = await request(t.app).post(`${API}/repositories/up/content`).attach('file', Buffer.from('ü'), 'grüße.txt')
      assert.equal(res.status, 201)
      assert.equal(res.body.units[0].relative_path, 'grüße.txt')
    })

    it('uses relative_path when given and counts the unit on the repository', async () => {
      const res = await request(t.app).post(`${API}/repositories/up/content`)
        .field('relative_path', 'dir/sub/data.bin').attach('file', Buffer.from([1, 2, 3]), 'ignored.bin')
      assert.equal(res.status, 201)
      assert.equal(res.body.units[0].relative_path, 'dir/sub/data.bin')
      const repo = await request(t.app).get(`${API}/repositories/up`).expect(200)
      assert.equal(repo.body.content_unit_counts.file, repo.body.total_repository_units)
      assert.ok(repo.body.total_repository_units >= 2)
      assert.match(repo.body.last_unit_added, /^\d{4}-/)
    })

    const badPaths: Array<[string, RegExp]> = [
      ['/etc/passwd', /leading "\/"/],
      ['a/../b', /"\.\." segment/],
      ['./a', /"\." segment/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a\\b', /backslash/],
      ['x'.repeat(1025), /1024/]
    ]
    for (const [bad, message] of badPaths) {
      it(`answers 400 for relative_path ${JSON.stringify(bad.slice(0, 24))} and stores nothing`, async () => {
        const before = await filesBelow(path.join(t.dataDir, 'artifacts'))
        const res = await request(t.app).post(`${API}/repositories/other/content`)
          .field('relative_path', bad).attach('file', Buffer.from(`bad ${bad}`), 'f.txt')
        assert.equal(res.status, 400)
        assert.match(res.body.error.message, message)
        assert.deepEqual(await filesBelow(path.join(t.dataDir, 'artifacts')), before)
        assert.deepEqual(await filesBelow(path.join(t.dataDir, 'tmp')), [])
      })
    }

    it('answers 413 past maxUploadSize and leaves no file and no record', async () => {
      const before = await filesBelow(path.join(t.dataDir, 'artifacts'))
      const res = await request(t.app).post(`${API}/repositories/limits/content`).attach('file', Buffer.alloc(MAX_UPLOAD + 1024, 1), 'big.bin')
      assert.equal(res.status, 413)
      assert.equal(res.body.error.code, 'ERR_PULP_TOO_LARGE')
      await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === 0, 5000, 'tmp/ to empty')
      assert.deepEqual(await filesBelow(path.join(t.dataDir, 'artifacts')), before)
      const units = await request(t.app).get(`${API}/repositories/limits/content`).expect(200)
      assert.equal(units.body.count, 0)
    })

    it('leaves no temp file and no record when the client disconnects mid-upload', async () => {
      const server = t.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      try {
        const { port } = server.address() as AddressInfo
        const boundary = 'xxBOUNDARYxx'
        const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
        const socket = net.connect(port, '127.0.0.1')
        await new Promise((resolve) => socket.once('connect', resolve))
        socket.write(`POST ${API}/repositories/aborts/content HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${head}`)
        // Past SMALL_PART, so the part streams to its temp file (a smaller one waits in memory).
        socket.write(Buffer.alloc(SMALL_PART + 30 * 1024, 9))
        await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === 1, 5000, 'the upload to start')
        socket.destroy()
        await eventually(async () => (await filesBelow(path.join(t.dataDir, 'tmp'))).length === 0, 5000, 'tmp/ to empty')
        const units = await request(t.app).get(`${API}/repositories/aborts/content`).expect(200)
        assert.equal(units.body.count, 0)
      } finally {
        server.close()
      }
    })

    it('replaces the unit at the same relative_path in that repository', async () => {
      await request(t.app).post(`${API}/repositories/other/content`).field('relative_path', 'same.txt').attach('file', Buffer.from('v1'), 'a').expect(201)
      const v2 = await request(t.app).post(`${API}/repositories/other/content`).field('relative_path', 'same.txt').attach('file', Buffer.from('v2'), 'a').expect(201)
      const list = await request(t.app).get(`${API}/repositories/other/content`).expect(200)
      const same = list.body.results.filter((u: { relative_path: string }) => u.relative_path === 'same.txt')
      assert.equal(same.length, 1)
      assert.equal(same[0].sha256, sha('v2'))
      assert.equal(same[0].id, v2.body.units[0].id)
    })

    it('deduplicates the same bytes across repositories into one artifact file', async () => {
      const body = Buffer.from('shared bytes')
      const a = await request(t.app).post(`${API}/repositories/up/content`).attach('file', body, 's1.txt').expect(201)
      const b = await request(t.app).post(`${API}/repositories/other/content`).attach('file', body, 's2.txt').expect(201)
      assert.equal(a.body.units[0].sha256, b.body.units[0].sha256)
      const files = (await filesBelow(path.join(t.dataDir, 'artifacts'))).filter((f) => f === `${sha(body).slice(0, 2)}/${sha(body).slice(2)}`)
      assert.equal(files.length, 1)
    })

    it('lists units with limit/offset and removes one', async () => {
      const list = await request(t.app).get(`${API}/repositories/up/content?limit=1&offset=0`).expect(200)
      assert.equal(list.body.results.length, 1)
      assert.ok(list.body.count >= 3)
      const unitId = list.body.results[0].id
      await request(t.app).delete(`${API}/repositories/up/content/${unitId}`).expect(204)
      const after = await request(t.app).get(`${API}/repositories/up/content?limit=1000`).expect(200)
      assert.equal(after.body.count, list.body.count - 1)
      assert.ok(!after.body.results.some((u: { id: string }) => u.id === unitId))
      const repo = await request(t.app).get(`${API}/repositories/up`).expect(200)
      assert.match(repo.body.last_unit_removed, /^\d{4}-/)
      assert.equal((await request(t.app).delete(`${API}/repositories/up/content/${unitId}`)).status, 404)
    })

    it('answers 415 to a body that is not multipart, 400 without a file field, 404 for an unknown repository', async () => {
      const json = await request(t.app).post(`${API}/repositories/up/content`).send({ file: 'x' })
      assert.equal(json.status, 415)
      assert.match(json.body.error.message, /multipart\/form-data/)
      const noFile = await request(t.app).post(`${API}/repositories/up/content`).field('relative_path', 'x')
      assert.equal(noFile.status, 400)
      assert.match(noFile.body.error.message, /"file"/)
      const missing = await request(t.app).post(`${API}/repositories/nope/content`).attach('file', Buffer.from('x'), 'x')
      assert.equal(missing.status, 404)
    })

    it('adds content programmatically from a buffer and from a file path', async () => {
      const u1 = await t.pulp.repositories.addContent('other', { file: Buffer.from('from code'), relativePath: 'code/a.txt' })
      assert.equal(u1.sha256, sha('from code'))
      const u2 = await t.pulp.repositories.addContent('other', { file: path.join(__dirname, 'uploads.test.ts'), relativePath: 'code/self.ts' })
      assert.equal(u2.size, (await readFile(path.join(__dirname, 'uploads.test.ts'))).length)
      await assert.rejects(t.pulp.repositories.addContent('other', { file: Buffer.from('x'), relativePath: '../x' }), { code: 'ERR_PULP_INVALID' })
    })
  })
}
