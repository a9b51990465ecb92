import path from 'node:path'
import { EventEmitter } from 'node:events'
import { createHash, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, rm, writeFile } from 'node:fs/promises'
import type { Knex } from 'knex'
import { ArtifactStore } from '../../lib/artifacts/store'
import type { PulpContext } from '../../lib/core/context'
import type { Download, DownloadHead, DownloadOrigin } from '../../lib/pull-through/download'
import { SharedDownloads } from '../../lib/pull-through/shared'
import { ClosedError, UpstreamError } from '../../lib/errors'
import { openConnection } from '../../lib/storage/connection'
import { migrateLatest } from '../../lib/storage/migrations'
import { upsertRemoteArtifact } from '../../lib/storage/remote-artifacts'
import type { StoredRemote } from '../../lib/storage/remotes'
import { ensureUnit } from '../../lib/storage/units'
import { createPgDatabase, dialects, type TestDatabase } from '../support/databases'
import { tempDir } from '../support/pulp'

const REMOTE = { name: 'up' } as unknown as StoredRemote
const HEAD: DownloadHead = { contentType: 'application/x-test', contentLength: 6, contentEncoding: undefined, lastModified: undefined, framed: true }

async function collect (body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk)
  return Buffer.concat(chunks)
}

for (const d of dialects()) {
  describe(`where a download's bytes come from, across instances (${d.name})`, { skip: d.skip }, () => {
    let dir: string
    let db: TestDatabase | undefined
    let config: Knex.Config
    const opened: Knex[] = []
    const shared: SharedDownloads[] = []
    let a: SharedDownloads
    let b: SharedDownloads
    let store: ArtifactStore

    /** One more instance's view: its own connection, the same database and data directory. */
    function instance (): { ctx: PulpContext, downloads: SharedDownloads } {
      const { knex } = openConnection(config, dir)
      opened.push(knex)
      const ctx = {
        knex, dialect: d.name, artifacts: store, events: new EventEmitter(), instanceId: randomUUID()
      } as unknown as PulpContext
      const downloads = new SharedDownloads(ctx)
      shared.push(downloads)
      return { ctx, downloads }
    }

    /** Records `bytes` as what the remote served at `relativePath`, as a leader's save does. */
    async function record (knex: Knex, relativePath: string, bytes: Buffer, within?: (trx: Knex) => Promise<void>): Promise<void> {
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      const tmp = path.join(store.tmpDir, `${randomUUID()}.part`)
      await writeFile(tmp, bytes)
      await store.adopt(tmp, sha256, bytes.length)
      await rm(tmp)
      await knex.transaction(async (trx) => {
        const unit = await ensureUnit(trx, { typeId: 'file', relativePath, sha256, size: bytes.length })
        await upsertRemoteArtifact(trx, { remoteName: 'up', relativePath, unitId: unit.id, sha256, size: bytes.length, contentType: null, contentEncoding: null })
        await within?.(trx)
      })
    }

    before(async () => {
      dir = await tempDir('pulp-shared-')
      db = d.name === 'postgresql' ? await createPgDatabase() : undefined
      config = db?.config ?? { client: 'sqlite3', connection: { filename: path.join(dir, 'pulp.sqlite') } }
      store = new ArtifactStore(dir)
      await store.init()
      const first = instance()
      await migrateLatest(first.ctx.knex)
      a = first.downloads
      b = instance().downloads
    })
    after(async () => {
      for (const s of shared) await s.close()
      for (const k of opened) await k.destroy()
      await db?.drop()
      await rm(dir, { recursive: true, force: true })
    })

    it('lets one instance fetch, and the other follow its file to the end and check it', async () => {
      const signal = new AbortController().signal
      const leader = a.begin(REMOTE, 'f/one.bin')
      const file = `${randomUUID()}.pull`
      const led = await leader.origin(signal, file)
      assert.equal(led.kind, 'upstream')
      await writeFile(path.join(store.tmpDir, file), 'abc')

      const following = b.begin(REMOTE, 'f/one.bin').origin(signal, `${randomUUID()}.pull`)
      if (led.kind === 'upstream') led.onHead?.(HEAD)
      const followed = await following
      assert.equal(followed.kind, 'shared')
      const { head, body, verify, file: fh } = followed as Extract<DownloadOrigin, { kind: 'shared' }>
      assert.deepEqual(head, HEAD)

      const reading = collect(body)
      await appendFile(path.join(store.tmpDir, file), 'def')
      // The leader saves; its row goes in the same transaction, which ends the follower's read.
      await leader.finish({ state: 'complete', savable: true } as Download, async (within) => {
        await record(opened[0], 'f/one.bin', Buffer.from('abcdef'), within)
      })
      const bytes = await reading
      await fh.close()
      assert.equal(bytes.toString(), 'abcdef')
      await verify(createHash('sha256').update(bytes).digest('hex'), bytes.length)
      await assert.rejects(verify('0'.repeat(64), bytes.length), UpstreamError)
    })

    it('fetches its own copy rather than follow a body whose end the upstream does not frame', async () => {
      const signal = new AbortController().signal
      const leader = a.begin(REMOTE, 'f/unframed.bin')
      const led = await leader.origin(signal, `${randomUUID()}.pull`)
      assert.equal(led.kind, 'upstream')
      if (led.kind === 'upstream') led.onHead?.({ ...HEAD, contentLength: undefined, framed: false })
      const own = await b.begin(REMOTE, 'f/unframed.bin').origin(signal, `${randomUUID()}.pull`)
      assert.equal(own.kind, 'upstream', 'nothing of it will be saved: there is no end to wait for')
      assert.equal(own.kind === 'upstream' ? own.onHead : 'none', undefined, 'and it leads nothing')
      if (led.kind === 'upstream') await led.onFailure?.(new ClosedError())
    })

    it('sends a request that comes once the path is saved to the HIT', async () => {
      await record(opened[0], 'f/saved.bin', Buffer.from('saved'))
      const origin = await b.begin(REMOTE, 'f/saved.bin').origin(new AbortController().signal, `${randomUUID()}.pull`)
      assert.equal(origin.kind, 'saved')
    })

    it('cuts a follower whose leader fails after its head, with the leader\'s error', async () => {
      const signal = new AbortController().signal
      const leader = a.begin(REMOTE, 'f/reset.bin')
      const file = `${randomUUID()}.pull`
      const led = await leader.origin(signal, file)
      assert.equal(led.kind, 'upstream')
      await writeFile(path.join(store.tmpDir, file), 'abc')
      const following = b.begin(REMOTE, 'f/reset.bin').origin(signal, `${randomUUID()}.pull`)
      if (led.kind === 'upstream') led.onHead?.(HEAD)
      const followed = await following as Extract<DownloadOrigin, { kind: 'shared' }>
      const reading = collect(followed.body)
      reading.catch(() => {})
      if (led.kind === 'upstream') await led.onFailure?.(new UpstreamError('remote "up" failed for "f/reset.bin": connection closed early'))
      await assert.rejects(reading, /connection closed early/)
      await followed.file.close()
      const next = await b.begin(REMOTE, 'f/reset.bin').origin(signal, `${randomUUID()}.pull`)
      assert.equal(next.kind, 'upstream', 'a recorded failure is no lease: the next request fetches')
      if (next.kind === 'upstream') await next.onFailure?.(new ClosedError())
    })

    it('hands the path to a waiting instance when its leader stops for a reason not worth repeating', async () => {
      const signal = new AbortController().signal
      const leader = a.begin(REMOTE, 'f/closing.bin')
      const led = await leader.origin(signal, `${randomUUID()}.pull`)
      assert.equal(led.kind, 'upstream')
      const taking = b.begin(REMOTE, 'f/closing.bin').origin(signal, `${randomUUID()}.pull`)
      if (led.kind === 'upstream') await led.onFailure?.(new ClosedError())
      const taken = await taking
      assert.equal(taken.kind, 'upstream')
      if (taken.kind === 'upstream') await taken.onFailure?.(new ClosedError())
    })

    it('stops waiting when its clients leave', async () => {
      const controller = new AbortController()
      const led = await a.begin(REMOTE, 'f/slow.bin').origin(new AbortController().signal, `${randomUUID()}.pull`)
      assert.equal(led.kind, 'upstream')
      const waiting = b.begin(REMOTE, 'f/slow.bin').origin(controller.signal, `${randomUUID()}.pull`)
      controller.abort(new UpstreamError('every client left'))
      await assert.rejects(waiting, /every client left/)
      if (led.kind === 'upstream') await led.onFailure?.(new ClosedError())
    })
  })
}
