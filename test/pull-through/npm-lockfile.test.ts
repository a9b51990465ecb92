import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { skipUnless } from '../support/clients'
import { NpmClient, type NpmRun } from '../support/npm-client'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'

describe('npm ci from a lockfile made elsewhere, on a cold mirror', { skip: skipUnless('npm') }, () => {
  let m: NpmMirror
  let npm: NpmClient
  let cold: string
  let made: NpmRun
  const seenUpstream = (): number => m.upstream.registry.log.length + m.upstream.files.log.length
  const registryHits = (path: string): number => m.upstream.registry.log.filter((r) => r.path === path).length

  before(async () => {
    m = await startNpmMirror()
    npm = await NpmClient.create()
    made = await npm.install(m.registry, ['@tiny/app'])
    assert.ok(made.ok, made.stderr)
    // A second remote on the same registry, whose distribution never served a packument.
    await m.f.t.pulp.remotes.create({ name: 'npm-cold', url: m.upstream.url, remoteTypeId: 'npm', negativeCacheTtl: 300 })
    await m.f.t.pulp.distributions.create({ name: 'npm-cold', basePath: 'npm-cold', remote: 'npm-cold' })
    cold = m.registry.replace('/npm/', '/npm-cold/')
  })
  after(async () => {
    await npm?.cleanup()
    await m?.cleanup()
  })

  // As committed from a machine using registry.npmjs.org: npm puts the configured registry in its place.
  const fromNpmjs = (text: string): string => text.replaceAll(m.registry, 'https://registry.npmjs.org/')

  it('installs: each tarball has its package\'s packument learnt first, once, abbreviated', async () => {
    const { app, dep } = m.upstream
    const packuments = { app: m.upstream.packumentHits(app), dep: m.upstream.packumentHits(dep) }
    const abbreviated = { app: m.upstream.packumentHits(app, true), dep: m.upstream.packumentHits(dep, true) }
    const tarballs = { app: m.upstream.tarballHits(app), dep: m.upstream.tarballHits(dep) }
    const ci = await npm.ci(cold, made.project, fromNpmjs)
    assert.ok(ci.ok, ci.stderr)
    assert.equal(await npm.load(ci.project, '@tiny/app'), 'app with tiny-dep 1.0.0')
    for (const [name, pkg] of [['app', app], ['dep', dep]] as const) {
      assert.equal(m.upstream.packumentHits(pkg) - packuments[name], 1, `one packument request for ${pkg.name}`)
      assert.equal(m.upstream.packumentHits(pkg, true) - abbreviated[name], 1, `${pkg.name}: the abbreviated packument, enough for the bindings`)
      assert.equal(m.upstream.tarballHits(pkg) - tarballs[name], 1, `one tarball request for ${pkg.name}`)
    }
    // The bytes kept are the registry's, and served again without asking it.
    const before = seenUpstream()
    for (const pkg of [app, dep]) {
      const res = await m.f.get(`npm-cold/${pkg.name.replace('/', '%2f')}/-/${pkg.tarballPath.split('/').pop() as string}`)
      assert.equal(res.status, 200)
      assert.equal(res.headers['x-pulp-cache'], 'HIT')
      assert.ok(res.body.equals(pkg.tarball), `${pkg.name}: the registry's bytes`)
    }
    assert.equal(seenUpstream(), before)
  })

  it('answers 404 for a version its packument does not list, asking nothing while that packument is fresh', async () => {
    const before = seenUpstream()
    for (const p of ['tiny-dep/-/tiny-dep-9.9.9.tgz', '@tiny%2fapp/-/app-0.0.1.tgz']) assert.equal((await m.f.get(`npm-cold/${p}`)).status, 404, p)
    assert.equal(seenUpstream(), before)
  })

  it('answers 404 for a tarball of an unknown package, with one packument request however often it is asked', async () => {
    const files = m.upstream.files.log.length
    const expect404 = async (path: string): Promise<void> => {
      const res = await m.f.get(`npm-cold/${path}`)
      assert.equal(res.status, 404, path)
      assert.match(JSON.parse(res.body.toString()).error.message, /remote "npm-cold" has no/)
    }
    // One after the other, then five at once.
    for (let i = 0; i < 5; i++) await expect404('ghost/-/ghost-1.0.0.tgz')
    assert.equal(registryHits('/registry/ghost'), 1, 'asked once')
    await Promise.all([1, 2, 3, 4, 5].map(async (i) => { await expect404(`@ghost%2fpkg/-/pkg-1.0.${i}.tgz`) }))
    assert.equal(registryHits('/registry/@ghost%2fpkg'), 1, 'asked once for five requests at once')
    assert.equal(m.upstream.files.log.length, files, 'no tarball asked for')
  })

  it('installs again with a fresh npm cache once both registry hosts are stopped', async () => {
    await m.upstream.stop()
    const offline = await npm.ci(cold, made.project, fromNpmjs)
    assert.ok(offline.ok, offline.stderr)
    assert.equal(await npm.load(offline.project, '@tiny/app'), 'app with tiny-dep 1.0.0')
  })

  it('answers 502 naming the remote, not 404, for a package never learnt while the registry is down', async () => {
    const res = await m.f.get('npm-cold/phantom/-/phantom-1.0.0.tgz')
    assert.equal(res.status, 502)
    assert.match(JSON.parse(res.body.toString()).error.message, /npm-cold/)
    // Remembered 404s still answer 404.
    assert.equal((await m.f.get('npm-cold/ghost/-/ghost-1.0.0.tgz')).status, 404)
  })
})
