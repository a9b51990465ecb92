import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { dialects } from '../support/databases'
import { startPulp, tempDir, type TestPulp } from '../support/pulp'
import { CLI, CONTROL, listenCounted, runCli, runInTerminal, type CountedServer } from '../support/cli'

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
const pick = ({ unchanged, replaced, hashed }: Record<string, number>): Record<string, number> => ({ unchanged, replaced, hashed })

/** The tree the tests push: nested directories, an empty file, a space and a UTF-8 name. */
const TREE: Record<string, string | Buffer> = {
  'README.md': '# hello\n',
  'empty.txt': '',
  'docs/guide one.html': '<p>guide</p>\n',
  'docs/grüße.txt': 'ü\n',
  'pool/main/a/app_1.0.deb': Buffer.alloc(200_000, 0xab),
  'pool/main/b/lib_2.0.deb': Buffer.alloc(50_000, 0xcd),
  'pool/main/b/deeper/still/x.bin': Buffer.from([0, 1, 2, 3])
}

async function writeTree (root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [relative, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true })
    await writeFile(path.join(root, relative), body)
  }
}

for (const d of dialects()) {
  describe(`pulp-middleware push (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let server: CountedServer
    let root: string
    const units = async (repo: string): Promise<Record<string, string>> => {
      const page = await t.pulp.repositories.listContent(repo, { limit: 1000 })
      return Object.fromEntries(page.results.map((u) => [u.relativePath, u.sha256]))
    }
    const uploads = (repo: string): string[] => server.requests.filter((r) => r === `POST /pulp/api/v1/repositories/${repo}/content`)
    const removals = (repo: string): string[] => server.requests.filter((r) => r === `DELETE /pulp/api/v1/repositories/${repo}/content`)

    before(async () => {
      t = await startPulp({ dialect: d.name })
      server = await listenCounted(t.app)
      root = await tempDir('pulp-cli-push-')
      await writeTree(path.join(root, 'tree'), TREE)
      for (const id of ['site', 'json', 'batches', 'tty', 'pages']) await t.pulp.repositories.create({ id })
    })
    after(async () => {
      await server?.close()
      await t?.cleanup()
      await rm(root, { recursive: true, force: true })
    })

    it('pushes a nested tree: the units are the tree, paths and sha256, and the output is one summary line', async () => {
      const res = await runCli(['push', 'site', path.join(root, 'tree'), '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      assert.equal(res.stderr, '')
      assert.match(res.stdout, /^pushed .*tree to site: 7 added, 0 replaced, 0 unchanged, 0 removed, 244\.\d+ KiB in \d+\.\d\d s \(1 upload request\)\n$/)
      assert.doesNotMatch(res.stdout, CONTROL)
      assert.deepEqual(await units('site'), Object.fromEntries(Object.entries(TREE).map(([p, body]) => [p, sha(body)])))
      assert.equal(uploads('site').length, 1)
    })

    it('uploads nothing when the tree is unchanged', async () => {
      const before = server.requests.length
      const res = await runCli(['push', 'site', path.join(root, 'tree'), '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      assert.match(res.stdout, /: 0 added, 0 replaced, 7 unchanged, 0 removed, 0 B in .* \(0 upload requests\)\n$/)
      assert.ok(!server.requests.slice(before).some((r) => r.startsWith('POST ')), server.requests.slice(before).join(', '))
    })

    it('with --delete after one change and one removal, does exactly one upload and one removal', async () => {
      // Same size, other bytes: only the hash can tell.
      await writeFile(path.join(root, 'tree', 'pool/main/b/deeper/still/x.bin'), Buffer.from([9, 9, 9, 9]))
      await unlink(path.join(root, 'tree', 'docs/guide one.html'))
      const posts = uploads('site').length
      const res = await runCli(['push', 'site', path.join(root, 'tree'), '--delete', '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      assert.match(res.stdout, /: 0 added, 1 replaced, 5 unchanged, 1 removed, 4 B in .* \(1 upload request\)\n$/)
      assert.equal(uploads('site').length, posts + 1)
      assert.equal(removals('site').length, 1)
      const now = await units('site')
      assert.equal(now['pool/main/b/deeper/still/x.bin'], sha(Buffer.from([9, 9, 9, 9])))
      assert.equal(now['docs/guide one.html'], undefined)
      assert.equal(Object.keys(now).length, 6)
    })

    it('keeps units whose file is gone unless --delete is given', async () => {
      await writeFile(path.join(root, 'tree', 'docs/guide one.html'), '<p>back</p>\n')
      await runCli(['push', 'site', path.join(root, 'tree'), '--url', server.url])
      await unlink(path.join(root, 'tree', 'docs/guide one.html'))
      const res = await runCli(['push', 'site', path.join(root, 'tree'), '--url', server.url])
      assert.match(res.stdout, /: 0 added, 0 replaced, 6 unchanged, 0 removed/)
      assert.ok('docs/guide one.html' in await units('site'))
    })

    it('prints the summary as JSON with --json', async () => {
      const res = await runCli(['push', 'json', path.join(root, 'tree'), '--json', '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      const summary = JSON.parse(res.stdout) as Record<string, number>
      assert.deepEqual({ ...summary, seconds: 0 }, {
        added: 6, replaced: 0, unchanged: 0, removed: 0, bytes: summary.bytes, seconds: 0, uploads: 1, hashed: 0
      })
      assert.ok(summary.bytes > 250_000 && summary.seconds > 0)
    })

    it('sends several files per request, and no more than asked', async () => {
      const res = await runCli(['push', 'batches', path.join(root, 'tree'), '--files-per-request', '4', '--concurrency', '2', '--json', '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      assert.equal(JSON.parse(res.stdout).uploads, 2)
      assert.equal(uploads('batches').length, 2)
      assert.equal(Object.keys(await units('batches')).length, 6)
    })

    it('checks a listing of several pages: a change on the first page and one on the last are sent, nothing else', async () => {
      const tree = path.join(root, 'pages')
      const name = (i: number): string => `many/f${String(i).padStart(4, '0')}.txt`
      await writeTree(tree, Object.fromEntries(Array.from({ length: 2050 }, (_, i) => [name(i), `file ${i}\n`])))
      const first = await runCli(['push', 'pages', tree, '--json', '--url', server.url])
      assert.equal(first.code, 0, first.stderr)
      assert.equal(JSON.parse(first.stdout).added, 2050)
      // Three pages of 1,000: a size change on the first, the same size with other bytes on the last.
      await writeFile(path.join(tree, name(0)), 'file 0, longer\n')
      await writeFile(path.join(tree, name(2049)), 'FILE 2049\n')
      const before = server.requests.length
      const res = await runCli(['push', 'pages', tree, '--json', '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      const summary = JSON.parse(res.stdout) as Record<string, number>
      const expected = { added: 0, replaced: 2, unchanged: 2048, removed: 0, bytes: 25, seconds: 0, uploads: 1 }
      assert.deepEqual({ ...summary, seconds: 0, hashed: 0 }, { ...expected, hashed: 0 })
      // The file rewritten at its size is read (its change time is new); how many of the others
      // were remembered from the first push depends on how long ago they were written.
      assert.ok(summary.hashed >= 1 && summary.hashed <= 2049, `${summary.hashed} files read`)
      const requests = server.requests.slice(before)
      assert.equal(requests.filter((r) => r === 'GET /pulp/api/v1/repositories/pages/content').length, 3, requests.join(', '))
      const now = await t.pulp.repositories.listContent('pages', { relativePath: name(2049) })
      assert.equal(now.results[0].sha256, sha('FILE 2049\n'))
    })

    it('remembers digests between pushes: an unchanged file is not read again, a rewritten one is, --rehash reads all', async () => {
      const tree = path.join(root, 'remembered')
      await writeTree(tree, { 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n', 'b/d.bin': Buffer.alloc(300 * 1024, 7) })
      await t.pulp.repositories.create({ id: 'remembered' })
      // Files changed within a second of a push are not remembered (their timestamps could hide a write).
      await sleep(1100)
      const pushJson = async (...extra: string[]): Promise<Record<string, number>> => {
        const res = await runCli(['push', 'remembered', tree, '--json', '--url', server.url, ...extra])
        assert.equal(res.code, 0, res.stderr)
        return JSON.parse(res.stdout) as Record<string, number>
      }
      assert.equal((await pushJson()).added, 3)
      // The server's digests of what it stored were remembered: nothing is read.
      assert.deepEqual(pick(await pushJson()), { unchanged: 3, replaced: 0, hashed: 0 })
      // Same size, other bytes, and the old modification time put back: the change time still tells.
      const c = path.join(tree, 'b/c.txt')
      const { mtime } = await stat(c)
      await writeFile(c, 'GAMMA\n')
      await utimes(c, mtime, mtime)
      await sleep(1100)
      assert.deepEqual(pick(await pushJson()), { unchanged: 2, replaced: 1, hashed: 1 })
      assert.equal((await units('remembered'))['b/c.txt'], sha('GAMMA\n'))
      assert.deepEqual(pick(await pushJson()), { unchanged: 3, replaced: 0, hashed: 0 })
      assert.deepEqual(pick(await pushJson('--rehash')), { unchanged: 3, replaced: 0, hashed: 3 })
    })

    it('succeeds when the cache directory cannot be written (the digests are not kept)', async () => {
      const blocked = path.join(root, 'not-a-directory')
      await writeFile(blocked, 'a file where the cache directory would go')
      const tree = path.join(root, 'blocked-tree')
      await writeTree(tree, { 'one.txt': 'one\n' })
      await t.pulp.repositories.create({ id: 'blocked' })
      // Older than a second, so that its digest is one to remember.
      await sleep(1100)
      const res = await runCli(['push', 'blocked', tree, '--json', '--url', server.url], { XDG_CACHE_HOME: blocked })
      assert.equal(res.code, 0, res.stderr)
      assert.equal(res.stderr, '')
    })

    it('fails with one line when the repository does not exist', async () => {
      const res = await runCli(['push', 'nope', path.join(root, 'tree'), '--url', server.url])
      assert.equal(res.code, 1)
      assert.match(res.stderr, /^pulp-middleware: GET .*\/repositories\/nope: 404 repository "nope" does not exist\n$/)
    })

    it('draws a progress bar on a terminal', async () => {
      const res = await runInTerminal(`${process.execPath} ${CLI} push tty ${path.join(root, 'tree')} --url ${server.url}`)
      assert.equal(res.code, 0, res.stdout)
      assert.match(res.stdout, /upload [\u2588\u2591]+ \d+% \| \d+\/6 files \| .* \| .*\/s \| ETA/)
      assert.match(res.stdout, /pushed .* 6 added/)
    })

    it('reads each pushed file back byte for byte from the artifact store', async () => {
      const page = await t.pulp.repositories.listContent('tty', { relativePath: 'pool/main/a/app_1.0.deb' })
      const unit = page.results[0]
      const onDisk = await readFile(path.join(t.dataDir, 'artifacts', unit.sha256.slice(0, 2), unit.sha256.slice(2)))
      assert.deepEqual(onDisk, TREE['pool/main/a/app_1.0.deb'])
    })
  })
}
