import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { ApiClient } from '../../lib/cli/client'
import { listTree } from '../../lib/cli/local-tree'
import { multipartBody } from '../../lib/cli/multipart'
import { startPulp, tempDir, type TestPulp } from '../support/pulp'
import { listenCounted, type CountedServer } from '../support/cli'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('multipart bodies of many files', () => {
  let t: TestPulp
  let server: CountedServer
  let client: ApiClient
  let root: string

  before(async () => {
    t = await startPulp()
    server = await listenCounted(t.app)
    client = new ApiClient({ url: server.url })
    root = await tempDir('pulp-cli-multipart-')
    for (const id of ['mixed', 'grew', 'shrank']) await t.pulp.repositories.create({ id })
  })
  after(async () => {
    await client?.close()
    await server?.close()
    await t?.cleanup()
    await rm(root, { recursive: true, force: true })
  })

  it('sends small files gathered into chunks, an empty one and a large one among them, each intact', async () => {
    const dir = path.join(root, 'mixed')
    await mkdir(dir, { recursive: true })
    const bodies = new Map<string, Buffer>()
    // 70 files of 9 KiB are more than two gathered chunks; the large one and the empty one fall in between.
    for (let i = 0; i < 70; i++) bodies.set(`f${String(i).padStart(2, '0')}.bin`, randomBytes(9 * 1024))
    bodies.set('f30-empty', Buffer.alloc(0))
    bodies.set('f31-large.bin', randomBytes(300 * 1024))
    for (const [name, body] of bodies) await writeFile(path.join(dir, name), body)
    const files = await listTree(dir)
    const answer = await client.send<{ units: Array<{ relative_path: string, sha256: string, size: number }> }>(
      'POST', '/repositories/mixed/content', multipartBody(files))
    assert.equal(answer.units.length, bodies.size)
    for (const unit of answer.units) {
      const body = bodies.get(unit.relative_path)
      assert.ok(body !== undefined, unit.relative_path)
      assert.equal(unit.sha256, sha(body), unit.relative_path)
      assert.equal(unit.size, body.length)
    }
  })

  for (const [repo, change] of [['grew', 'x'.repeat(11)], ['shrank', 'x'.repeat(9)]] as const) {
    it(`fails the request, adding nothing, when a small file ${repo} after it was listed`, async () => {
      const dir = path.join(root, repo)
      await mkdir(dir, { recursive: true })
      await writeFile(path.join(dir, 'a.txt'), 'a')
      await writeFile(path.join(dir, 'b.txt'), 'x'.repeat(10))
      const files = await listTree(dir)
      await writeFile(path.join(dir, 'b.txt'), change)
      await assert.rejects(client.send('POST', `/repositories/${repo}/content`, multipartBody(files)), /changed while it was pushed/)
      assert.equal((await t.pulp.repositories.listContent(repo, {})).count, 0)
    })
  }
})
