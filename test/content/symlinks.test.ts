import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import request from 'supertest'
import { addArtifact, buildPublication, makeFixture, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

describe('symlinks', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let pub: string
  let linkedArtifact: { sha256: string }

  before(async () => {
    fx = await makeFixture()
    pub = await buildPublication(fx.dataDir, '1', { 'ok.txt': 'fine' })
    await symlink('/etc/passwd', path.join(pub, 'passwd'))
    await symlink(fx.secretPath, path.join(pub, 'secret'))
    await symlink(fx.root, path.join(pub, 'outside-dir'))
    await symlink(path.join(fx.dataDir, 'tmp'), path.join(pub, 'tmp-dir'))
    await mkdir(path.join(fx.dataDir, 'tmp'))
    await writeFile(path.join(fx.dataDir, 'tmp', 'partial.part'), 'half an upload')
    await symlink(path.join(fx.dataDir, 'artifacts', 'ff', 'nothing'), path.join(pub, 'dangling'))
    await symlink('loop-b', path.join(pub, 'loop-a'))
    await symlink('loop-a', path.join(pub, 'loop-b'))
    await symlink('self', path.join(pub, 'self'))
    // Relative links that climb out through the publication are judged by their real target.
    await symlink('../../../../../secret.txt', path.join(pub, 'climb'))
    // A link to another publication or straight into artifacts/ is inside the roots.
    const other = await buildPublication(fx.dataDir, '1', { 'other.txt': 'other publication' }, { repo: 'other' })
    await symlink(path.join(other, 'other.txt'), path.join(pub, 'other.txt'))
    linkedArtifact = await addArtifact(fx.dataDir, 'straight from the store')
    await symlink(path.join(fx.dataDir, 'artifacts'), path.join(pub, 'store'))
    await publish(fx.dataDir, 'http', 'repo', pub)
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  const notFound = async (target: string): Promise<void> => {
    const res = await request(srv.app).get(target).responseType('blob')
    assert.equal(res.status, 404, target)
    const text = String(res.body)
    assert.ok(!text.includes(fx.secret), 'the secret leaked')
    assert.ok(!text.includes('root:'), '/etc/passwd leaked')
  }

  it('answers 404 for a link to /etc/passwd planted in a publication', async () => { await notFound('/content/repo/passwd') })
  it('answers 404 for a link to a file next to dataDir', async () => { await notFound('/content/repo/secret') })
  it('answers 404 for a relative link that climbs out', async () => { await notFound('/content/repo/climb') })
  it('answers 404 for a file under a linked directory outside', async () => { await notFound('/content/repo/outside-dir/secret.txt') })
  it('answers 404 for the linked directory outside itself', async () => { await notFound('/content/repo/outside-dir/') })
  it('answers 404 for a link into tmp/, which is inside dataDir but not a root', async () => { await notFound('/content/repo/tmp-dir/partial.part') })
  it('answers 404 for a dangling link', async () => { await notFound('/content/repo/dangling') })
  it('answers 404 for a symlink loop', async () => { await notFound('/content/repo/loop-a') })
  it('answers 404 for a link to itself', async () => { await notFound('/content/repo/self') })
  it('answers 404 under a loop (ELOOP on a parent)', async () => { await notFound('/content/repo/loop-a/x') })

  it('follows a link into another publication', async () => {
    const res = await request(srv.app).get('/content/repo/other.txt')
    assert.equal(res.status, 200)
    assert.equal(res.text, 'other publication')
  })

  it('follows a link into artifacts/ and gives the strong ETag', async () => {
    const s = linkedArtifact.sha256
    const res = await request(srv.app).get(`/content/repo/store/${s.slice(0, 2)}/${s.slice(2)}`).responseType('blob')
    assert.equal(res.status, 200)
    assert.equal(res.headers.etag, `"${s}"`)
  })

  it('leaves unsafe, dangling and looping links out of the listing', async () => {
    const res = await request(srv.app).get('/content/repo/').set('Accept', 'application/json')
    const names = res.body.entries.map((e: { name: string }) => e.name)
    assert.deepEqual(names, ['store', 'PULP_MANIFEST', 'ok.txt', 'other.txt'])
  })

  describe('when dataDir has no roots yet', () => {
    let empty: string
    let bare: ContentServer

    before(async () => {
      empty = await mkdtemp(path.join(os.tmpdir(), 'pulp-content-empty-'))
      bare = await startContentServer(empty)
    })
    after(async () => {
      await bare.close()
      await rm(empty, { recursive: true, force: true })
    })

    it('falls through to 404, then serves once a publication appears', async () => {
      assert.equal((await request(bare.app).get('/content/repo/a.txt')).status, 404)
      assert.equal((await request(bare.app).get('/content/')).status, 404)
      const p = await buildPublication(empty, '1', { 'a.txt': 'late' })
      await publish(empty, 'http', 'repo', p)
      const res = await request(bare.app).get('/content/repo/a.txt')
      assert.equal(res.status, 200)
      assert.equal(res.text, 'late')
    })
  })
})
