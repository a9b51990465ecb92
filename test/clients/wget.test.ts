import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { patternBytes } from '../support/content-tree'
import { isolatedEnv, readTree, skipUnless, startSite, type PublishedSite } from '../support/clients'

const run = promisify(execFile)
const skip = skipUnless('wget')

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

describe('wget --mirror of a published tree through its listings', { skip }, () => {
  let work: string
  let env: NodeJS.ProcessEnv
  let site: PublishedSite
  let out: string

  async function mirror (): Promise<void> {
    // --cut-dirs=3: pulp/content/mirror/ of the URL is not part of what was published.
    await run('wget', ['--mirror', '--no-parent', '--no-host-directories', '--cut-dirs=3', '--quiet', '--no-config',
      '-e', 'robots=off', '--restrict-file-names=nocontrol', '--directory-prefix', out, `${site.url}/`], { env, timeout: 30_000 })
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'wget-client-'))
    await mkdir(path.join(work, 'home'))
    env = isolatedEnv(path.join(work, 'home'))
    out = path.join(work, 'out')
    site = await startSite({ relativeUrl: 'mirror' })
    await site.publish(TREE)
  })
  after(async () => {
    await site?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('mirrors every published file, byte for byte, PULP_MANIFEST included', async () => {
    await mirror()
    const got = await readTree(out)
    const files = Object.keys(got).filter((f) => path.posix.basename(f) !== 'index.html')
    assert.deepEqual(files, [...Object.keys(TREE), 'PULP_MANIFEST'].sort())
    for (const [rel, content] of Object.entries(TREE)) assert.ok(got[rel].equals(Buffer.from(content)), `${rel} differs`)
    const manifest = await (await fetch(`${site.url}/PULP_MANIFEST`)).arrayBuffer()
    assert.ok(got.PULP_MANIFEST.equals(Buffer.from(manifest)))
  })

  it('fetches no file again on a second run (timestamps and Last-Modified agree)', async () => {
    const mark = site.requests.length
    await mirror()
    const again = site.requests.slice(mark).filter((r) => r.method === 'GET' && r.status === 200 && !r.url.endsWith('/'))
    assert.deepEqual(again.map((r) => r.url), [])
    assert.ok(site.requests.slice(mark).some((r) => r.status === 304 || r.method === 'HEAD'), 'the second run asked')
  })
})
