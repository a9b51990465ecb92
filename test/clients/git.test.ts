import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { isolatedEnv, readTree, skipUnless, startSite, type PublishedSite } from '../support/clients'

const run = promisify(execFile)
const skip = skipUnless('git')

describe('git over dumb HTTP against the static tree', { skip }, () => {
  let work: string
  let env: NodeJS.ProcessEnv
  let site: PublishedSite
  const src = (): string => path.join(work, 'src')
  const bare = (): string => path.join(work, 'project.git')
  const clone = (): string => path.join(work, 'clone')

  async function git (cwd: string, ...args: string[]): Promise<string> {
    return (await run('git', args, { cwd, env, timeout: 30_000 })).stdout
  }

  /** Pushes the source to the bare repository, prepares it for dumb HTTP, and publishes all of it. */
  async function publishBare (): Promise<void> {
    await git(src(), 'push', '--quiet', bare(), 'main')
    await git(bare(), 'update-server-info')
    // hooks/ holds only samples a client never reads.
    const files = Object.entries(await readTree(bare())).filter(([rel]) => !rel.startsWith('hooks/'))
    await site.publish(Object.fromEntries(files.map(([rel, bytes]) => [`project.git/${rel}`, bytes])))
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'git-client-'))
    const home = path.join(work, 'home')
    await mkdir(home)
    env = isolatedEnv(home, {
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid'
    })
    await mkdir(src())
    await git(src(), 'init', '--quiet', '--initial-branch=main')
    await writeFile(path.join(src(), 'hello.txt'), 'hello\n')
    await writeFile(path.join(src(), 'data.bin'), Buffer.alloc(100_000, 3))
    await git(src(), 'add', '.')
    await git(src(), 'commit', '--quiet', '-m', 'first')
    await git(work, 'init', '--quiet', '--bare', '--initial-branch=main', bare())
    site = await startSite({ relativeUrl: 'git' })
    await publishBare()
  })
  after(async () => {
    await site?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('clones the published repository', async () => {
    await git(work, 'clone', '--quiet', `${site.url}/project.git`, clone())
    assert.equal(await readFile(path.join(clone(), 'hello.txt'), 'utf8'), 'hello\n')
    assert.ok((await readFile(path.join(clone(), 'data.bin'))).equals(Buffer.alloc(100_000, 3)))
    assert.equal(await git(clone(), 'rev-parse', 'HEAD'), await git(src(), 'rev-parse', 'HEAD'))
    assert.ok(site.requests.some((r) => r.url.endsWith('/project.git/info/refs?service=git-upload-pack') && r.status === 200),
      'git asked for smart HTTP first and got the plain file, so it went on as a dumb client')
  })

  it('pulls a second commit once it is published', async () => {
    await writeFile(path.join(src(), 'hello.txt'), 'hello again\n')
    await writeFile(path.join(src(), 'new.txt'), 'new\n')
    await git(src(), 'add', '.')
    await git(src(), 'commit', '--quiet', '-m', 'second')
    await publishBare()
    await git(clone(), 'pull', '--quiet', '--ff-only')
    assert.equal(await git(clone(), 'rev-parse', 'HEAD'), await git(src(), 'rev-parse', 'HEAD'))
    assert.equal(await readFile(path.join(clone(), 'hello.txt'), 'utf8'), 'hello again\n')
    assert.equal(await readFile(path.join(clone(), 'new.txt'), 'utf8'), 'new\n')
    assert.equal((await git(clone(), 'log', '--format=%s')).trim(), 'second\nfirst')
    await git(clone(), 'fsck', '--strict', '--no-progress')
  })
})
