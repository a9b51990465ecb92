import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { parseMultipart } from '../support/content-http'
import { patternBytes } from '../support/content-tree'
import { isolatedEnv, skipUnless, startSite, type PublishedSite } from '../support/clients'

const run = promisify(execFile)
const skip = skipUnless('curl')
const BIG = patternBytes(3 * 1024 * 1024, 11)

describe('curl against a published tree', { skip }, () => {
  let work: string
  let env: NodeJS.ProcessEnv
  let site: PublishedSite

  async function curl (...args: string[]): Promise<{ stdout: Buffer, stderr: string }> {
    const { stdout, stderr } = await run('curl', ['--silent', '--show-error', '--fail', '--disable', ...args], { env, encoding: 'buffer', timeout: 30_000 })
    return { stdout, stderr: stderr.toString() }
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'curl-client-'))
    await mkdir(path.join(work, 'home'))
    env = isolatedEnv(path.join(work, 'home'))
    site = await startSite({ relativeUrl: 'files' })
    await site.publish({ 'README.txt': 'read me\n', 'iso/big.iso': BIG })
  })
  after(async () => {
    await site?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('downloads a published file', async () => {
    const out = path.join(work, 'readme')
    await curl('--output', out, `${site.url}/README.txt`)
    assert.equal(await readFile(out, 'utf8'), 'read me\n')
  })

  it('resumes a partial download with -C -', async () => {
    const out = path.join(work, 'big.iso')
    await writeFile(out, BIG.subarray(0, 1_000_000))
    const mark = site.requests.length
    await curl('-C', '-', '--output', out, `${site.url}/iso/big.iso`)
    const asked = site.requests.slice(mark)
    assert.deepEqual(asked.map((r) => [r.range, r.status]), [['bytes=1000000-', 206]])
    assert.ok((await readFile(out)).equals(BIG), 'the resumed file differs')
  })

  it('fetches one range, and several as multipart/byteranges', async () => {
    const one = await curl('--range', '100-199', `${site.url}/iso/big.iso`)
    assert.ok(one.stdout.equals(BIG.subarray(100, 200)))
    const headersFile = path.join(work, 'headers')
    const several = await curl('--range', '0-9,2000000-2000099', '--dump-header', headersFile, `${site.url}/iso/big.iso`)
    const type = /^content-type: *(.+?)\r?$/im.exec(await readFile(headersFile, 'utf8'))?.[1] ?? ''
    assert.match(type, /^multipart\/byteranges; boundary=/)
    const parts = parseMultipart(several.stdout, type)
    assert.deepEqual(parts.map((p) => p.headers['content-range']), [`bytes 0-9/${BIG.length}`, `bytes 2000000-2000099/${BIG.length}`])
    assert.ok(parts[0].body.equals(BIG.subarray(0, 10)))
    assert.ok(parts[1].body.equals(BIG.subarray(2_000_000, 2_000_100)))
  })

  it('gets 304 on revalidation with the ETag it was given (--etag-compare)', async () => {
    const etagFile = path.join(work, 'etag')
    await curl('--etag-save', etagFile, '--output', path.join(work, 'r1'), `${site.url}/README.txt`)
    assert.match(await readFile(etagFile, 'utf8'), /^"[0-9a-f]{64}"/)
    const mark = site.requests.length
    await curl('--etag-compare', etagFile, '--output', path.join(work, 'r2'), `${site.url}/README.txt`)
    assert.equal(site.requests[mark].status, 304)
  })
})
