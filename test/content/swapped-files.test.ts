import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request as httpRequest } from 'node:http'
import path from 'node:path'
import { mkdir, rename, symlink, unlink, writeFile } from 'node:fs/promises'
import { buildPublication, makeFixture, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'
import { raceSwapper } from '../support/swapper'

// A file that was served (and so is remembered by the resolution cache) is replaced by a way
// out of the tree. Whatever is remembered, what is opened must be what the containment check
// approved: the swapped path answers 404, and no byte of the outside file is ever sent.
describe('files swapped for a way out of the tree after they were served', () => {
  let fx: ContentFixture
  let srv: ContentServer
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })

  before(async () => {
    fx = await makeFixture()
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    agent.destroy()
    await srv.close()
    await fx.cleanup()
  })

  const get = async (target: string): Promise<{ status: number, body: Buffer }> => await new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: srv.port, path: target, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
  /** Served three times: remembered from the second on, and served from memory on the third. */
  const servedThrice = async (target: string, expected: string): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      const res = await get(target)
      assert.equal(res.status, 200, target)
      assert.equal(res.body.toString(), expected)
    }
  }
  const refused = async (target: string): Promise<void> => {
    for (let i = 0; i < 20; i++) {
      const res = await get(target)
      assert.ok(!res.body.toString().includes(fx.secret), `${target} served the outside file (request ${i + 1})`)
      assert.equal(res.status, 404, target)
    }
  }
  const artifactPath = (data: string): string => {
    const digest = sha256(data)
    return path.join(fx.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2))
  }

  it('refuses an artifact replaced by a symlink to a file outside', async () => {
    await publish(fx.dataDir, 'http', 'final', await buildPublication(fx.dataDir, '1', { 'a.txt': 'artifact bytes' }, { repo: 'final' }))
    await servedThrice('/content/final/a.txt', 'artifact bytes')
    const file = artifactPath('artifact bytes')
    await rename(file, `${file}.kept`)
    await symlink(fx.secretPath, file)
    await refused('/content/final/a.txt')
    // Put back, the same file is served again.
    await unlink(file)
    await rename(`${file}.kept`, file)
    await servedThrice('/content/final/a.txt', 'artifact bytes')
  })

  it('refuses a file of the publication itself replaced by a symlink to a file outside', async () => {
    const publication = await buildPublication(fx.dataDir, '1', { 'one.txt': '1' }, { repo: 'own' })
    await publish(fx.dataDir, 'http', 'own', publication)
    await servedThrice('/content/own/PULP_MANIFEST', `one.txt,${sha256('1')},1\n`)
    await unlink(path.join(publication, 'PULP_MANIFEST'))
    await symlink(fx.secretPath, path.join(publication, 'PULP_MANIFEST'))
    await refused('/content/own/PULP_MANIFEST')
  })

  it('refuses an artifact whose directory was replaced by a symlink to an outside directory', async () => {
    await publish(fx.dataDir, 'http', 'dir', await buildPublication(fx.dataDir, '1', { 'b.txt': 'dir bytes' }, { repo: 'dir' }))
    await servedThrice('/content/dir/b.txt', 'dir bytes')
    const file = artifactPath('dir bytes')
    // The outside directory holds a regular file of the same name: no link at the last component.
    const outside = path.join(fx.root, 'outside-dir')
    await mkdir(outside)
    await writeFile(path.join(outside, path.basename(file)), fx.secret)
    await rename(path.dirname(file), `${path.dirname(file)}.kept`)
    await symlink(outside, path.dirname(file))
    await refused('/content/dir/b.txt')
    await unlink(path.dirname(file))
    await rename(`${path.dirname(file)}.kept`, path.dirname(file))
    await servedThrice('/content/dir/b.txt', 'dir bytes')
  })

  it('refuses a plain file of the tree (never remembered) replaced by a symlink to a file outside', async () => {
    const plain = path.join(fx.dataDir, 'publish', 'http', 'plain.txt')
    await writeFile(plain, 'plain bytes')
    await servedThrice('/content/plain.txt', 'plain bytes')
    await unlink(plain)
    await symlink(fx.secretPath, plain)
    await refused('/content/plain.txt')
  })

  it('never sends a byte of the outside file while a swapper races 2,000 requests', async () => {
    const data = `race bytes ${'r'.repeat(2000)}`
    await publish(fx.dataDir, 'http', 'race', await buildPublication(fx.dataDir, '1', { 'r.txt': data }, { repo: 'race' }))
    await servedThrice('/content/race/r.txt', data)
    const scratch = path.join(fx.root, 'swapper')
    await mkdir(scratch)
    const race = { file: artifactPath(data), secret: fx.secret, scratch, expected: Buffer.from(data) }
    const { statuses, leaked, wrong } = await raceSwapper(race, 2000, async () => await get('/content/race/r.txt'))
    assert.equal(leaked, 0, `the outside file was served ${leaked} times`)
    assert.equal(wrong, 0)
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 404), [], `statuses: ${JSON.stringify([...statuses])}`)
    assert.deepEqual(srv.errors, [])
    await servedThrice('/content/race/r.txt', data)
  })

  it('still serves an artifact that is replaced by an identical copy (another inode)', async () => {
    await publish(fx.dataDir, 'http', 'copy', await buildPublication(fx.dataDir, '1', { 'c.txt': 'copied bytes' }, { repo: 'copy' }))
    await servedThrice('/content/copy/c.txt', 'copied bytes')
    const file = artifactPath('copied bytes')
    await writeFile(`${file}.new`, 'copied bytes')
    await rename(`${file}.new`, file)
    await servedThrice('/content/copy/c.txt', 'copied bytes')
  })
})
