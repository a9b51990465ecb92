import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { skipUnless } from '../support/clients'
import { NpmClient, type NpmRun } from '../support/npm-client'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'

describe('npm ci from a lockfile made elsewhere', { skip: skipUnless('npm') }, () => {
  let m: NpmMirror
  let npm: NpmClient
  let cold: string
  let made: NpmRun

  before(async () => {
    m = await startNpmMirror()
    npm = await NpmClient.create()
    made = await npm.install(m.registry, ['@tiny/app'])
    assert.ok(made.ok, made.stderr)
    // A second remote on the same registry, whose distribution never served a packument.
    await m.f.t.pulp.remotes.create({ name: 'npm-cold', url: m.upstream.url, remoteTypeId: 'npm' })
    await m.f.t.pulp.distributions.create({ name: 'npm-cold', basePath: 'npm-cold', remote: 'npm-cold' })
    cold = m.registry.replace('/npm/', '/npm-cold/')
  })
  after(async () => {
    await npm?.cleanup()
    await m?.cleanup()
  })

  // As committed from a machine using registry.npmjs.org: npm puts the configured registry in its place.
  const fromNpmjs = (text: string): string => text.replaceAll(m.registry, 'https://registry.npmjs.org/')

  it('fails with 404 while the mirror never served the packuments, asking the registry nothing', async () => {
    const before = m.upstream.registry.log.length + m.upstream.files.log.length
    const ci = await npm.ci(cold, made.project, fromNpmjs)
    assert.equal(ci.ok, false)
    assert.match(ci.stderr, /404 Not Found - GET http:\/\/127\.0\.0\.1:\d+\/pulp\/content\/npm-cold\//)
    assert.equal(m.upstream.registry.log.length + m.upstream.files.log.length, before)
  })

  it('works once each packument was served, then also with the registry down', async () => {
    for (const name of ['tiny-dep', '@tiny/app']) {
      const view = await npm.view(cold, name)
      assert.ok(view.ok, view.stderr)
    }
    const ci = await npm.ci(cold, made.project, fromNpmjs)
    assert.ok(ci.ok, ci.stderr)
    assert.equal(await npm.load(ci.project, '@tiny/app'), 'app with tiny-dep 1.0.0')
    await m.upstream.stop()
    const offline = await npm.ci(cold, made.project, fromNpmjs)
    assert.ok(offline.ok, offline.stderr)
  })
})
