import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { isolatedEnv, skipUnless } from '../support/clients'
import { eventually } from '../support/fs-wait'
import { quotaSuite } from '../support/quota'
import { testBytes } from '../support/upstream-faults'

const run = promisify(execFile)

describe('curl through a distribution with cache_max_bytes', { skip: skipUnless('curl') }, () => {
  const suite = quotaSuite('sqlite')
  let work: string
  let env: NodeJS.ProcessEnv
  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'curl-quota-'))
    await mkdir(path.join(work, 'home'))
    env = isolatedEnv(path.join(work, 'home'))
  })
  after(async () => { await rm(work, { recursive: true, force: true }) })

  const curl = async (url: string, out: string, ...args: string[]): Promise<void> => {
    await run('curl', ['--silent', '--show-error', '--fail', '--disable', '--output', out, ...args, url], { env, timeout: 60_000 })
  }

  it('gets the same bytes after an eviction, and finishes a download the eviction overtook', async () => {
    const { f, q } = suite
    const m = await q.mirror('curl', null)
    const big = await q.pull(m, 'big.bin', testBytes(8 * 1024 * 1024))
    const url = `http://127.0.0.1:${f.port}/pulp/content/curl/big.bin`
    // A slow reader: the server still reads the file when its bytes are evicted.
    const slowOut = path.join(work, 'slow.bin')
    const slow = curl(url, slowOut, '--limit-rate', '1M')
    await eventually(async () => await stat(slowOut).then((s) => s.size > 0, () => false), 10_000, 'curl receiving')
    await q.setLimit(m.distribution, 0)
    await q.untilEvictions(m.distribution, 1)
    assert.equal(await f.stored(big), false, 'evicted while curl reads it')
    await slow
    assert.ok((await readFile(slowOut)).equals(big), 'the download under way got every byte')
    const againOut = path.join(work, 'again.bin')
    await curl(url, againOut)
    assert.ok((await readFile(againOut)).equals(big), 'pulled again, the same bytes')
    assert.equal(f.upstream.hits(`/${m.dir}/big.bin`, 'GET'), 2)
  })
})
