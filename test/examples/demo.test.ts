import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { copyFile, readFile, rm, stat } from 'node:fs/promises'
import { tempDir } from '../support/pulp'
import { execFileAsync, startScript, stop } from '../support/processes'

const root = path.join(__dirname, '..', '..')
const demo = path.join(root, 'examples', 'demo.ts')
const README_ORIGIN = 'http://127.0.0.1:8080'

/** The shell commands of README.md's quick start that run against the demo (the curl block). */
async function quickStartCommands (): Promise<string[]> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('## Quick start')
  assert.ok(start !== -1, 'README.md has a "Quick start" section')
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end === -1 ? undefined : end)
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1])
  const block = blocks.find((b) => /^curl /m.test(b))
  assert.ok(block !== undefined, 'the quick start has a sh block of curl commands')
  return block.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
}

describe('examples/demo.ts (npm start)', () => {
  let dir: string
  let child: ChildProcess
  let banner: string
  let base: string

  before(async () => {
    dir = await tempDir()
    const started = await startScript(demo, [], { PORT: '0', PULP_DATA_DIR: dir }, /listening on (http:\/\/\S+)[\s\S]*Quick start.*\n/)
    child = started.child
    banner = started.match[0]
    base = started.match[1]
  })
  after(async () => {
    assert.equal(await stop(child), 0)
    await rm(dir, { recursive: true, force: true })
  })

  it('prints URLs that answer, its address first (the landing page)', async () => {
    const urls = [...banner.matchAll(/http:\/\/\S+/g)].map((m) => m[0])
    assert.equal(urls[0], base)
    assert.ok(urls.length >= 4, banner)
    for (const url of urls) {
      const { stdout } = await execFileAsync('curl', ['--fail', '--silent', '--show-error', '-w', '\n%{http_code}', url])
      assert.equal(stdout.split('\n').pop(), '200', url)
    }
    const landing = JSON.parse((await execFileAsync('curl', ['-sS', base])).stdout)
    assert.equal(landing.name, 'pulp-middleware')
    assert.equal(landing.links.content, '/pulp/content/')
  })

  it('runs README.md\'s quick start in order, on a fresh data dir, and ends with the uploaded file downloaded', { timeout: 60_000 }, async () => {
    const commands = await quickStartCommands()
    assert.ok(commands.length >= 5, 'create, upload, distributor, publish, download')
    const origin = new URL(base).origin
    // A fresh clone's view: the commands read and write next to README.md, here a copy of it.
    const work = await tempDir('pulp-quick-start-')
    try {
      await copyFile(path.join(root, 'README.md'), path.join(work, 'README.md'))
      const outputs: string[] = []
      for (const command of commands) {
        // --fail: a 4xx or 5xx must stop the walk, not print an error body and carry on.
        const line = command.replaceAll(README_ORIGIN, origin).replace(/(^|\| *|&& *)curl /g, '$1curl --fail --silent --show-error ')
        const { stdout } = await execFileAsync('bash', ['-o', 'pipefail', '-c', line], { cwd: work }).catch((err: { stdout?: string, stderr?: string }) => {
          throw new Error(`quick start step failed: ${command}\n${err.stdout ?? ''}${err.stderr ?? ''}`)
        })
        outputs.push(stdout)
      }
      const published = commands.findIndex((c) => c.includes('/actions/publish'))
      assert.ok(published !== -1, 'the quick start publishes')
      assert.equal(JSON.parse(outputs[published]).state, 'finished', 'the publish step answers once the task finished')
      const uploaded = await readFile(path.join(work, 'README.md'))
      const downloaded = await readFile(path.join(work, 'README.copy.md'))
      assert.ok(downloaded.equals(uploaded), 'the downloaded bytes are the uploaded ones')
      assert.match(outputs[outputs.length - 1], /downloaded what was uploaded/)
      assert.ok((await stat(path.join(dir, 'pulp.sqlite'))).isFile(), 'the demo uses the embedded SQLite default')
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  })
})
