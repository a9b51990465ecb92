import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { mkdir, rm } from 'node:fs/promises'
import { dialects } from '../support/databases'
import { fill, readOnly, smallDisk, type Undo } from '../support/local-faults'
import { tempDir } from '../support/pulp'
import { API, api, addFile } from '../support/publish-env'
import { serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/** The shape every local fault answers with: its code, and a message without a server path. */
function assertNamed (body: { error: { code: string, message: string } }, code: string, message: RegExp, dataDir: string): void {
  assert.equal(body.error.code, code, JSON.stringify(body))
  assert.match(body.error.message, message)
  assert.ok(!body.error.message.includes(dataDir), `no absolute path in "${body.error.message}"`)
}

for (const d of dialects()) {
  describe(`local faults (${d.name})`, { skip: d.skip }, () => {
    describe('a full data directory', () => {
      let f: PullThroughFixture
      let undo: Undo | undefined
      let skip: string | undefined
      const outside = { dir: '' }
      before(async () => {
        outside.dir = await tempDir('pulp-small-')
        const dataDir = path.join(outside.dir, 'data')
        const mounted = await smallDisk(dataDir, '4m')
        if (typeof mounted === 'string') { skip = mounted; return }
        undo = mounted
        // The database stays off the small disk here: only the files fill up.
        const database = d.name === 'sqlite' ? { client: 'sqlite3', connection: { filename: path.join(outside.dir, 'pulp.sqlite') } } : undefined
        f = await startPullThrough({
          dialect: d.name, dataDir, ...(database === undefined ? {} : { database }), runner: { pollInterval: 0.05 }
        })
      })
      after(async () => {
        await f?.cleanup().catch(() => {})
        await undo?.()
        await rm(outside.dir, { recursive: true, force: true })
      })

      it('answers 507 to an upload and fails a publish as 507, naming the disk, and recovers once there is room', async (t) => {
        if (skip !== undefined) return t.skip(skip)
        const { dataDir } = f.t
        await api(f.t).post(`${API}/repositories`).send({ id: 'full' }).expect(201)
        await f.t.pulp.distributors.add('full', { distributorTypeId: 'web', distributorId: 'web' })
        await addFile(f.t, 'full', 'a.txt', 'a')
        const filler = await fill(dataDir)

        const upload = await api(f.t).post(`${API}/repositories/full/content`).attach('file', Buffer.alloc(64 * 1024, 1), 'f.bin')
        assert.equal(upload.status, 507)
        assertNamed(upload.body, 'ERR_PULP_INSUFFICIENT_STORAGE', /^cannot (write to|open) tmp\/\S+\.part: no space left on device$/, dataDir)

        const task = await f.t.pulp.tasks.wait((await f.t.pulp.publish('full', 'web')).taskId, { timeout: 10 })
        assert.equal(task.state, 'failed')
        assert.equal(task.error?.code, 'ERR_PULP_INSUFFICIENT_STORAGE', JSON.stringify(task.error))
        assert.match(String(task.error?.message), /no space left on device/)
        assert.ok(!String(task.error?.message).includes(dataDir), String(task.error?.message))

        await rm(filler)
        await api(f.t).post(`${API}/repositories/full/content`).attach('file', Buffer.alloc(64 * 1024, 1), 'f.bin').expect(201)
        assert.equal((await f.t.pulp.tasks.wait((await f.t.pulp.publish('full', 'web')).taskId, { timeout: 10 })).state, 'finished')
      })
    })

    if (d.name === 'sqlite') {
      it('shows a full database as not writable in /status, and answers 507 to a create', async (t) => {
        const outside = await tempDir('pulp-small-db-')
        const dataDir = path.join(outside, 'data')
        const mounted = await smallDisk(dataDir, '4m')
        if (typeof mounted === 'string') return t.skip(mounted)
        let f: PullThroughFixture | undefined
        try {
          f = await startPullThrough({ dataDir })
          assert.equal((await api(f.t).get(`${API}/status`).expect(200)).body.database.writable, true)
          const filler = await fill(dataDir)
          const status = (await api(f.t).get(`${API}/status`).expect(200)).body.database
          assert.equal(status.reachable, true)
          assert.equal(status.writable, false)
          assert.equal(status.error, 'the database cannot write: database or disk is full')
          const created = await api(f.t).post(`${API}/repositories`).send({ id: 'nope' })
          assert.equal(created.status, 507)
          assertNamed(created.body, 'ERR_PULP_INSUFFICIENT_STORAGE', /^the database cannot write: database or disk is full$/, dataDir)
          await rm(filler)
          assert.equal((await api(f.t).get(`${API}/status`).expect(200)).body.database.writable, true)
        } finally {
          await f?.cleanup().catch(() => {})
          await mounted()
          await rm(outside, { recursive: true, force: true })
        }
      })
    }

    describe('read-only directories', () => {
      let f: PullThroughFixture
      before(async () => { f = await startPullThrough({ dialect: d.name, runner: { pollInterval: 0.05 } }) })
      after(async () => { await f?.cleanup() })

      it('answers 500 naming tmp/ to an upload and to a pull (not 502: the remote is fine)', async (t) => {
        const { dataDir } = f.t
        await api(f.t).post(`${API}/repositories`).send({ id: 'ro' }).expect(201)
        await f.wire('ropull', { dir: 'ro/' })
        const body = testBytes(10_000)
        f.upstream.on('/ro/x.bin', serveFile(body))
        const undo = await readOnly(path.join(dataDir, 'tmp'))
        if (typeof undo === 'string') return t.skip(undo)
        try {
          const upload = await api(f.t).post(`${API}/repositories/ro/content`).attach('file', Buffer.from('abc'), 'f.bin')
          assert.equal(upload.status, 500)
          assertNamed(upload.body, 'ERR_PULP_LOCAL_FAULT', /^cannot open tmp\/\S+\.part: (read-only file system|permission denied)$/, dataDir)
          const pulled = await f.get('ropull/x.bin')
          assert.equal(pulled.status, 500, pulled.body.toString())
          assertNamed(JSON.parse(pulled.body.toString()), 'ERR_PULP_LOCAL_FAULT', /^cannot open tmp\/\S+\.pull: (read-only file system|permission denied)$/, dataDir)
        } finally {
          await undo()
        }
        assert.ok((await f.get('ropull/x.bin')).body.equals(body), 'served once tmp/ is writable again')
      })

      it('fails a publish into a read-only publications/ with the cause and a relative path', async (t) => {
        const { dataDir } = f.t
        await api(f.t).post(`${API}/repositories`).send({ id: 'ropub' }).expect(201)
        await f.t.pulp.distributors.add('ropub', { distributorTypeId: 'web', distributorId: 'web' })
        await addFile(f.t, 'ropub', 'a.txt', 'a')
        const publications = path.join(dataDir, 'publications')
        await mkdir(publications, { recursive: true })
        const undo = await readOnly(publications)
        if (typeof undo === 'string') return t.skip(undo)
        try {
          const task = await f.t.pulp.tasks.wait((await f.t.pulp.publish('ropub', 'web')).taskId, { timeout: 10 })
          assert.equal(task.state, 'failed')
          assert.equal(task.error?.code, 'ERR_PULP_LOCAL_FAULT', JSON.stringify(task.error))
          assert.match(String(task.error?.message), /^cannot create publications\/ropub: (read-only file system|permission denied)$/)
          const history = (await api(f.t).get(`${API}/repositories/ropub/history/publish/web`).expect(200)).body.results
          assert.ok(!JSON.stringify(history).includes(dataDir), 'no absolute path in the history')
        } finally {
          await undo()
        }
      })
    })
  })
}
