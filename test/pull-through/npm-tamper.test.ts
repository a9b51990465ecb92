import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { captureLogger } from '../support/capture-logger'
import { skipUnless } from '../support/clients'
import { eventually } from '../support/fs-wait'
import { NpmClient } from '../support/npm-client'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'

describe('a tampered tarball through an npm remote', { skip: skipUnless('npm') }, () => {
  let m: NpmMirror
  let npm: NpmClient
  const logger = captureLogger()

  before(async () => {
    m = await startNpmMirror({ logger })
    npm = await NpmClient.create()
    m.upstream.tamper(m.upstream.dep)
  })
  after(async () => {
    await npm?.cleanup()
    await m?.cleanup()
  })

  it('fails the install, saves no artifact and no unit, and logs the remote', async () => {
    const { dep } = m.upstream
    const run = await npm.install(m.registry, ['tiny-dep'])
    assert.equal(run.ok, false, 'npm must not install bytes the packument does not vouch for')
    // npm tries a cut download again itself: each try reaches the upstream, nothing was kept.
    assert.ok(m.upstream.tarballHits(dep) >= 1)
    await eventually(async () => (await m.f.tmpFiles()).length === 0, 5000, 'the temp file to go')
    const tampered = Buffer.from(dep.tarball)
    tampered[tampered.length >> 1] ^= 0xff
    assert.equal(await m.f.stored(tampered), false)
    assert.equal(await m.f.stored(dep.tarball), false)
    assert.equal((await m.f.t.pulp.repositories.listContent(m.repository)).count, 0)
    const warning = logger.calls.find((c) => c.level === 'warn' && c.line.includes('do not match'))
    assert.ok(warning !== undefined, 'a warning for the operator')
    assert.match(warning.line, /"remote":"npmjs"/)
    assert.match(warning.line, /tiny-dep\/-\/tiny-dep-1\.0\.0\.tgz/)
  })

  it('cuts the connection of a direct download rather than send a whole-looking wrong body', async () => {
    const res = await m.f.get('npm/tiny-dep/-/tiny-dep-1.0.0.tgz')
    assert.equal(res.complete, false)
    assert.ok(!res.body.equals(m.upstream.dep.tarball))
  })

  it('fetches again on the next request, and installs once the upstream is whole', async () => {
    const { dep } = m.upstream
    m.upstream.tamper(dep, false)
    const before = m.upstream.tarballHits(dep)
    const run = await npm.install(m.registry, ['tiny-dep'])
    assert.ok(run.ok, run.stderr)
    assert.equal(await npm.load(run.project, 'tiny-dep'), 'tiny-dep 1.0.0')
    assert.equal(m.upstream.tarballHits(dep), before + 1)
    await eventually(async () => (await m.f.t.pulp.repositories.listContent(m.repository)).count === 1, 5000, 'the unit')
    assert.ok(await m.f.stored(dep.tarball))
  })
})
