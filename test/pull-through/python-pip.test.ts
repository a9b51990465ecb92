import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Knex } from 'knex'
import { openConnection } from '../../lib/storage/connection'
import { captureLogger } from '../support/capture-logger'
import { skipUnless } from '../support/clients'
import { eventually } from '../support/fs-wait'
import { asPublished, PypiUpstream, sha256, startPip, type Pip } from '../support/python-index'
import { testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const run = promisify(execFile)
const WHEEL_10 = 'tiny_pkg-1.0-py3-none-any.whl'
const WHEEL_11 = 'tiny_pkg-1.1-py3-none-any.whl'
const BAD = 'bad_pkg-2.0-py3-none-any.whl'

describe('pip through a python remote (index and files on two hosts)', { skip: skipUnless('python3') }, () => {
  let f: PullThroughFixture
  let up: PypiUpstream
  let p: Pip
  let knex: Knex
  let tiny: Record<string, Buffer>
  let bad: Record<string, Buffer>
  let tampered: Buffer
  const logger = captureLogger()
  const indexUrl = (): string => `http://127.0.0.1:${f.port}/pulp/content/pypi/`
  const wheelHits = (name: string): number => up.files.hits(`/packages/${name}`, 'GET')

  before(async () => {
    f = await startPullThrough({ logger })
    p = await startPip()
    knex = openConnection(f.t.database, f.t.dataDir).knex
    tiny = await p.build('tiny-pkg', ['1.0', '1.1'], { sdist: true })
    bad = await p.build('bad-pkg', ['2.0'])
    up = await PypiUpstream.start()
    up.publish('tiny-pkg', { ...asPublished(tiny), 'tiny_pkg-0.9.tar.gz': { bytes: testBytes(300), yanked: 'broken &amp; gone' } })
    tampered = testBytes(bad[BAD].length)
    up.publish('bad-pkg', { ...asPublished(bad), [BAD]: { bytes: bad[BAD], served: tampered } })
    // The two REST calls README's "Mirror PyPI" shows.
    const api = `http://127.0.0.1:${f.port}/pulp/api/v1`
    for (const [url, body] of [[`${api}/remotes`, { name: 'pypi-up', url: up.url, remote_type_id: 'python', metadata_ttl: 600 }], [`${api}/distributions`, { name: 'pypi', base_path: 'pypi', remote: 'pypi-up' }]] as const) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      assert.equal(res.status, 201, await res.text())
    }
  })
  after(async () => {
    await knex?.destroy()
    await up?.close()
    await f?.cleanup()
    if (p !== undefined) await rm(p.work, { recursive: true, force: true })
  })

  it('runs pip with no configuration of this machine\'s', async () => {
    const { stdout } = await p.pip(['config', 'list'])
    assert.deepEqual(stdout.trim().split('\n'), [":env:.config-file='/dev/null'"])
    assert.deepEqual(Object.keys(p.env).filter((k) => /^PIP_|_PROXY$/i.test(k)), ['PIP_CONFIG_FILE'])
  })

  it('downloads the newest wheel: pip reads the PEP 691 JSON page, the wheel comes from the files host through us', async () => {
    const got = await p.download(['--no-cache-dir', '--index-url', indexUrl(), 'tiny-pkg'])
    assert.deepEqual(Object.keys(got), [WHEEL_11])
    assert.ok(got[WHEEL_11].equals(tiny[WHEEL_11]))
    assert.match(String(up.index.requestsFor('/simple/tiny-pkg/')[0]?.headers.accept), /^application\/vnd\.pypi\.simple\.v1\+json/)
    assert.equal(wheelHits(WHEEL_11), 1)
    assert.equal(wheelHits(`${WHEEL_11}.metadata`), 1, 'pip read the PEP 658 metadata file through us first')
    const variants = await knex('pulp_pull_entries').where({ relative_path: 'tiny-pkg/' }).pluck('variant') as string[]
    assert.deepEqual(variants, ['json'], 'pip asked for the JSON form')
  })

  it('installs with --target, and the module imports', async () => {
    const target = await mkdtemp(path.join(p.work, 'target-'))
    await p.pip(['install', '--no-deps', '--no-cache-dir', '--no-input', '--target', target, '--index-url', indexUrl(), 'tiny-pkg==1.0'])
    const { stdout } = await run(p.python, ['-c', 'import tiny_pkg; print(tiny_pkg.VERSION)'], { env: { ...p.env, PYTHONPATH: target } })
    assert.equal(stdout.trim(), '1.0')
    assert.equal(wheelHits(WHEEL_10), 1)
  })

  it('serves PEP 691 JSON and PEP 503 HTML by Accept, links under the distribution, hashes and data attributes kept', async () => {
    const json = await f.get('pypi/tiny-pkg/', { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })
    assert.equal(json.status, 200)
    assert.equal(json.headers['content-type'], 'application/vnd.pypi.simple.v1+json')
    assert.equal(json.headers.vary, 'Accept')
    const doc = JSON.parse(json.body.toString()) as { meta: unknown, files: Array<Record<string, unknown>> }
    assert.deepEqual(doc.meta, { 'api-version': '1.1' })
    const wheel = doc.files.find((x) => x.filename === WHEEL_11)
    assert.equal(wheel?.url, `../tiny-pkg/${WHEEL_11}`)
    assert.deepEqual(wheel?.hashes, { sha256: sha(tiny[WHEEL_11]) })
    assert.equal(wheel?.['requires-python'], '>=3.7')
    assert.deepEqual(wheel?.['core-metadata'], { sha256: sha(tiny[`${WHEEL_11}.metadata`]) })
    assert.ok(!json.body.toString().includes(up.files.url()), 'no link to the files host is left')

    const html = (await f.get('pypi/tiny-pkg/', { headers: { accept: 'text/html' } })).body.toString()
    assert.ok(html.includes(`href="../tiny-pkg/${WHEEL_11}#sha256=${sha(tiny[WHEEL_11])}"`), html)
    assert.ok(html.includes('data-requires-python="&#62;=3.7"'))
    assert.ok(html.includes(`data-core-metadata="sha256=${sha(tiny[`${WHEEL_11}.metadata`])}"`))
    assert.ok(html.includes(`data-dist-info-metadata="sha256=${sha(tiny[`${WHEEL_11}.metadata`])}"`))
    assert.ok(html.includes('data-yanked="broken &#38; gone"'), 'the yank reason is kept')
    assert.ok(!html.includes(up.files.url()))
  })

  it('serves a wheel\'s .metadata file (PEP 658) through the distribution, checked against its digest', async () => {
    const res = await f.get(`pypi/tiny-pkg/${WHEEL_11}.metadata`)
    assert.equal(res.status, 200)
    assert.ok(res.body.equals(tiny[`${WHEEL_11}.metadata`]))
    const sdist = await f.get('pypi/tiny-pkg/tiny_pkg-1.1.tar.gz')
    assert.ok(sdist.body.equals(tiny['tiny_pkg-1.1.tar.gz']))
  })

  it('serves a project under any spelling of its name (PEP 503 normalization), asking the upstream for the normalized one', async () => {
    const before = up.index.log.length
    const res = await f.get('pypi/Tiny_Pkg/', { headers: { accept: 'text/html' } })
    assert.equal(res.status, 200)
    assert.ok(res.body.toString().includes(`href="../tiny-pkg/${WHEEL_11}#sha256=`))
    assert.deepEqual(up.index.log.slice(before).map((r) => r.path), ['/simple/tiny-pkg/'])
    assert.ok((await f.get(`pypi/Tiny.Pkg/${WHEEL_11}`)).body.equals(tiny[WHEEL_11]))
  })

  it('answers 404 for a file no page listed, asking no upstream', async () => {
    const before = up.index.log.length + up.files.log.length
    for (const name of ['tiny-pkg/tiny_pkg-9.9-py3-none-any.whl', 'nobody/x.whl', 'tiny-pkg/a/b.whl']) {
      assert.equal((await f.get(`pypi/${name}`)).status, 404, name)
    }
    assert.equal(up.index.log.length + up.files.log.length, before)
  })

  it('fails pip on a tampered file, saves nothing, and tries the files host again next time', async () => {
    await assert.rejects(p.download(['--no-cache-dir', '--index-url', indexUrl(), 'bad-pkg']))
    await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'the temp file to go')
    assert.equal(await f.stored(bad[BAD]), false)
    assert.equal(await f.stored(tampered), false, 'the bytes served are not kept either')
    assert.equal((await knex('pulp_remote_artifacts').where({ relative_path: `bad-pkg/${BAD}` })).length, 0, 'no unit saved')
    assert.ok(logger.calls.some((c) => c.level === 'warn' && c.line.includes('pypi-up') && c.line.includes(BAD)), 'logged with the remote\'s name')
    const hits = wheelHits(BAD)
    assert.equal((await f.get(`pypi/bad-pkg/${BAD}`)).complete, false)
    assert.equal(wheelHits(BAD), hits + 1, 'asked again')
  })

  it('keeps serving pip from the cache with both upstream hosts stopped (fresh pip cache)', async () => {
    await up.close()
    const cache = await mkdtemp(path.join(p.work, 'cache-'))
    const got = await p.download(['--cache-dir', cache, '--index-url', indexUrl(), 'tiny-pkg'])
    assert.ok(got[WHEEL_11].equals(tiny[WHEEL_11]))
    const pinned = await p.download(['--cache-dir', cache, '--index-url', indexUrl(), 'tiny-pkg==1.0'])
    assert.ok(pinned[WHEEL_10].equals(tiny[WHEEL_10]))
  })
})

function sha (bytes: Buffer | undefined): string {
  assert.ok(bytes !== undefined)
  return sha256(bytes)
}
