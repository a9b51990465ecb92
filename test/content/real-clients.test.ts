import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { buildPublication, makeFixture, patternBytes, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

const run = promisify(execFile)

function missing (binary: string): string | false {
  const found = ['/usr/bin', '/usr/local/bin', '/bin'].some((dir) => existsSync(path.join(dir, binary)))
  return found ? false : `${binary} is not installed (apt-get install -y ${binary})`
}

/** Every regular file under `dir`, as paths relative to it. */
async function walk (dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name)
    if (entry.isDirectory()) out.push(...await walk(dir, rel))
    else out.push(rel)
  }
  return out.sort()
}

const TREE: Readonly<Record<string, Buffer | string>> = {
  'README.txt': 'read me\n',
  'big.iso': patternBytes(3 * 1024 * 1024, 11),
  'repodata/repomd.xml': '<repomd/>\n',
  'repodata/primary.xml.gz': patternBytes(40_000, 12),
  'Packages/a/alpha-1.0.rpm': patternBytes(12_345, 13),
  'Packages/b/beta 2.0+x.rpm': patternBytes(777, 14),
  'Packages/ü/ünïcode.rpm': patternBytes(1_000, 15),
  'empty.txt': ''
}

describe('real clients', () => {
  let fx: ContentFixture
  let srv: ContentServer
  const ranges: Array<string | undefined> = []

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'dist/repo', await buildPublication(fx.dataDir, '1', TREE))
    srv = await startContentServer(fx.dataDir, {
      before: (app) => app.use((req, _res, next) => { ranges.push(req.headers.range); next() })
    })
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  it('downloads a published file with curl', { skip: missing('curl') }, async () => {
    const out = path.join(fx.root, 'curl-readme')
    await run('curl', ['--silent', '--show-error', '--fail', '--output', out, `${srv.origin}/content/dist/repo/README.txt`])
    assert.deepEqual(await readFile(out), Buffer.from(TREE['README.txt']))
  })

  it('resumes a partial download with curl -C -', { skip: missing('curl') }, async () => {
    const out = path.join(fx.root, 'curl-big.iso')
    const whole = TREE['big.iso'] as Buffer
    await writeFile(out, whole.subarray(0, 1_000_000))
    ranges.length = 0
    await run('curl', ['--silent', '--show-error', '--fail', '-C', '-', '--output', out, `${srv.origin}/content/dist/repo/big.iso`])
    assert.deepEqual(ranges, ['bytes=1000000-'])
    const got = await readFile(out)
    assert.equal(got.length, whole.length)
    assert.ok(got.equals(whole), 'the resumed file differs')
  })

  it('mirrors the published tree through its listings with wget --recursive', { skip: missing('wget') }, async () => {
    const out = path.join(fx.root, 'wget')
    await run('wget', [
      '--recursive', '--no-parent', '--no-host-directories', '--cut-dirs=3', '--quiet',
      '-e', 'robots=off', '--restrict-file-names=nocontrol', '--directory-prefix', out,
      `${srv.origin}/content/dist/repo/`
    ])
    const mirrored = (await walk(out)).filter((f) => path.basename(f) !== 'index.html')
    const published = [...Object.keys(TREE), 'PULP_MANIFEST'].sort()
    assert.deepEqual(mirrored, published)
    for (const rel of Object.keys(TREE)) {
      assert.ok((await readFile(path.join(out, rel))).equals(Buffer.from(TREE[rel])), `${rel} differs`)
    }
    const manifest = await readFile(path.join(fx.dataDir, 'publish/http/dist/repo/PULP_MANIFEST'))
    assert.ok((await readFile(path.join(out, 'PULP_MANIFEST'))).equals(manifest))
  })
})
