import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { skipUnless } from '../support/clients'
import { eventually } from '../support/fs-wait'
import { NpmClient } from '../support/npm-client'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'
import { ABBREVIATED_ACCEPT } from '../support/npm-registry'

describe('real npm through an npm remote', { skip: skipUnless('npm') }, () => {
  let m: NpmMirror
  let npm: NpmClient

  before(async () => {
    m = await startNpmMirror()
    npm = await NpmClient.create()
  })
  after(async () => {
    await npm?.cleanup()
    await m?.cleanup()
  })

  it('runs npm with none of this machine\'s settings', async () => {
    const config = await npm.config()
    assert.match(config, /^omit-lockfile-registry-resolved = false$/m)
    assert.match(config, /^audit = false$/m)
    assert.doesNotMatch(config, /"(user|global)" config from \/(root|usr)/)
  })

  it('installs a plain package; the lockfile resolves it to the distribution', async () => {
    const { dep } = m.upstream
    const run = await npm.install(m.registry, ['tiny-dep'])
    assert.ok(run.ok, run.stderr)
    assert.equal(await npm.load(run.project, 'tiny-dep'), 'tiny-dep 1.0.0')
    const entry = await npm.lockEntry(run.project, 'tiny-dep')
    assert.equal(entry?.resolved, `${m.registry}tiny-dep/-/tiny-dep-1.0.0.tgz`)
    assert.equal(entry?.integrity, dep.integrity)
    assert.equal(m.upstream.tarballHits(dep), 1)
  })

  it('installs a scoped package (asked as @scope%2fname) and its dependency from the cache', async () => {
    const { app, dep } = m.upstream
    const run = await npm.install(m.registry, ['@tiny/app'])
    assert.ok(run.ok, run.stderr)
    assert.equal(await npm.load(run.project, '@tiny/app'), 'app with tiny-dep 1.0.0')
    assert.equal((await npm.lockEntry(run.project, '@tiny/app'))?.resolved, `${m.registry}@tiny/app/-/app-1.0.0.tgz`)
    assert.equal((await npm.lockEntry(run.project, 'tiny-dep'))?.resolved, `${m.registry}tiny-dep/-/tiny-dep-1.0.0.tgz`)
    assert.equal(m.upstream.registry.hits('/registry/@tiny%2fapp'), 1, 'the registry was asked as npm asks')
    assert.equal(m.upstream.tarballHits(app), 1)
    assert.equal(m.upstream.tarballHits(dep), 1, 'the dependency came from the cache')
  })

  it('answers npm outdated from the abbreviated packument', async () => {
    const { app } = m.upstream
    const run = await npm.install(m.registry, ['@tiny/app'])
    assert.ok(run.ok, run.stderr)
    assert.equal(m.upstream.packumentHits(app, true), 0)
    const outdated = await npm.outdated(m.registry, run.project)
    assert.ok(outdated.ok, `nothing is outdated: ${outdated.stdout} ${outdated.stderr}`)
    assert.equal(m.upstream.packumentHits(app, true), 1, 'the abbreviated document was asked for')
  })

  it('keeps the tarballs as units of the distribution\'s repository, never the packuments', async () => {
    await eventually(async () => (await m.f.t.pulp.repositories.listContent(m.repository)).count === 2, 5000, 'two units')
    const paths = (await m.f.t.pulp.repositories.listContent(m.repository)).results.map((u) => u.relativePath).sort()
    assert.deepEqual(paths, ['@tiny/app/-/app-1.0.0.tgz', 'tiny-dep/-/tiny-dep-1.0.0.tgz'])
    for (const pkg of m.upstream.packages) assert.ok(await m.f.stored(pkg.tarball))
  })

  it('caches the abbreviated and the full packument apart', async () => {
    const { app } = m.upstream
    const ask = async (accept: string): ReturnType<typeof m.f.get> => await m.f.get('npm/@tiny%2fapp', { headers: { accept } })
    const abbreviated = await ask(ABBREVIATED_ACCEPT)
    const full = await ask('application/json')
    assert.equal(abbreviated.headers['content-type'], 'application/vnd.npm.install-v1+json')
    assert.equal(abbreviated.headers.vary, 'Accept')
    assert.equal(JSON.parse(abbreviated.body.toString()).readme, undefined)
    assert.equal(JSON.parse(full.body.toString()).readme, '# @tiny/app\n')
    for (const res of [abbreviated, full]) {
      assert.equal(JSON.parse(res.body.toString()).versions['1.0.0'].dist.tarball, `${m.registry}@tiny/app/-/app-1.0.0.tgz`)
    }
    assert.equal((await ask(ABBREVIATED_ACCEPT)).headers['x-pulp-cache'], 'HIT')
    assert.equal((await ask('application/json')).headers['x-pulp-cache'], 'HIT')
    const upper = await m.f.get('npm/@tiny%2Fapp', { headers: { accept: 'application/json' } })
    assert.equal(upper.headers['x-pulp-cache'], 'HIT', '%2F names the same package')
    assert.equal(m.upstream.packumentHits(app, true), 1)
    assert.equal(m.upstream.packumentHits(app, false), 1)
  })

  it('installs again with a fresh npm cache while both upstream hosts are down, with and without the lockfile', async () => {
    await m.upstream.stop()
    const run = await npm.install(m.registry, ['@tiny/app'])
    assert.ok(run.ok, run.stderr)
    assert.equal(await npm.load(run.project, '@tiny/app'), 'app with tiny-dep 1.0.0')
    assert.equal((await npm.lockEntry(run.project, '@tiny/app'))?.resolved, `${m.registry}@tiny/app/-/app-1.0.0.tgz`)
    const ci = await npm.ci(m.registry, run.project)
    assert.ok(ci.ok, ci.stderr)
    assert.equal(await npm.load(ci.project, '@tiny/app'), 'app with tiny-dep 1.0.0')
  })
})
