import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { MAX_ORIGINS } from '../../lib/plugins/npm/origin'
import { startNpmMirror, type NpmMirror } from '../support/npm-mirror'
import { ABBREVIATED_ACCEPT } from '../support/npm-registry'
import { UpstreamServer } from '../support/upstream-server'
import { fetchRaw } from '../support/upstream-pulp'

describe('an npm remote fetches only what a packument bound', () => {
  let m: NpmMirror
  let canary: UpstreamServer
  let upstreamRequests = 0
  const seenUpstream = (): number => m.upstream.registry.log.length + m.upstream.files.log.length

  before(async () => {
    m = await startNpmMirror()
    canary = await UpstreamServer.start()
    // Learn the packuments the usual way first: the bindings exist, the crafted requests come after.
    for (const name of ['tiny-dep', '@tiny%2fapp']) assert.equal((await m.f.get(`npm/${name}`)).status, 200)
    upstreamRequests = seenUpstream()
  })
  after(async () => {
    await canary?.close()
    await m?.cleanup()
  })

  it('never fetches a URL a crafted request names: the canary sees nothing', async () => {
    const at = canary.url()
    const registryBefore = m.upstream.registry.log.length
    const filesBefore = m.upstream.files.log.length
    const crafted: Array<{ target: string, headers?: Record<string, string> }> = [
      { target: `/pulp/content/npm/tiny-dep/-/tiny-dep-1.0.0.tgz?redirect=${encodeURIComponent(at)}x.tgz` },
      { target: `/pulp/content/npm/tiny-dep?registry=${encodeURIComponent(at)}` },
      { target: `${at}pulp/content/npm/tiny-dep/-/canary-1.0.0.tgz` },
      { target: `/pulp/content/npm/${encodeURIComponent(at)}` },
      { target: `/pulp/content/npm/http:/127.0.0.1:${canary.port}/x.tgz` },
      { target: '/pulp/content/npm/@tiny%2fapp/-/..%2f..%2fx.tgz' },
      { target: '/pulp/content/npm/canary/-/canary-1.0.0.tgz', headers: { host: `127.0.0.1:${canary.port}` } },
      { target: '/pulp/content/npm/canary/-/canary-1.0.0.tgz', headers: { 'x-forwarded-host': `127.0.0.1:${canary.port}`, referer: at } },
      { target: '/pulp/content/npm/tiny-dep', headers: { host: `127.0.0.1:${canary.port}` } },
      { target: '/pulp/content/npm/tiny-dep/-/tiny-dep-1.0.0.tgz', headers: { host: `127.0.0.1:${canary.port}` } },
      // Tarball paths of no packument learnt: only the package's packument, at the remote's URL, is asked for.
      { target: `/pulp/content/npm/127.0.0.1:${canary.port}/-/x-1.0.0.tgz` },
      { target: '/pulp/content/npm/127.0.0.1/-/127.0.0.1-1.0.0.tgz', headers: { host: `127.0.0.1:${canary.port}` } },
      { target: `/pulp/content/npm/@127.0.0.1%2f${canary.port}/-/${canary.port}-1.0.0.tgz` },
      { target: `/pulp/content/npm/tiny-dep/-/tiny-dep-1.0.0.tgz?url=${encodeURIComponent(at)}&tarball=${encodeURIComponent(at)}` }
    ]
    for (const { target, headers } of crafted) {
      const res = await fetchRaw(m.f.port, target, { headers })
      assert.ok(res.status !== 500, `${target}: ${res.status}`)
    }
    assert.equal(canary.log.length, 0, `the canary saw ${canary.log.map((r) => r.path).join(', ')}`)
    // The registry was asked for packuments at its own root only, the tarball host for the bound tarball only.
    for (const r of m.upstream.registry.log.slice(registryBefore)) assert.match(r.path, /^\/registry\/[^/]+$/)
    assert.ok(m.upstream.registry.log.slice(registryBefore).some((r) => r.path === '/registry/127.0.0.1'), 'a cold tarball had its packument asked for')
    assert.deepEqual([...new Set(m.upstream.files.log.slice(filesBefore).map((r) => r.path))], [m.upstream.dep.tarballPath])
  })

  it('answers 404 for a tarball no packument listed, asking the registry only for its package\'s packument', async () => {
    const before = { registry: m.upstream.registry.log.length, files: m.upstream.files.log.length }
    const tarballs = [
      ['tiny-dep/-/tiny-dep-9.9.9.tgz', '/registry/tiny-dep'],
      ['@tiny%2fapp/-/app-0.0.1.tgz', '/registry/@tiny%2fapp'],
      ['never-listed/-/never-listed-1.0.0.tgz', '/registry/never-listed'],
      // A Host naming the canary changes nothing: a tarball does not depend on the origin.
      ['never-listed/-/never-listed-2.0.0.tgz', '/registry/never-listed', { host: `127.0.0.1:${canary.port}` }]
    ] as const
    for (const [p, , headers] of tarballs) assert.equal((await m.f.get(`npm/${p}`, { headers })).status, 404, p)
    // Each package's packument at the remote's URL, at most once (the crafted requests above
    // may have had one learnt already), the registry's 404 remembered.
    const asked = m.upstream.registry.log.slice(before.registry).map((r) => r.path)
    assert.deepEqual([...new Set(asked)], asked)
    assert.ok(asked.every((p) => tarballs.some(([, packument]) => packument === p)), asked.join(', '))
    assert.ok(asked.includes('/registry/never-listed'))
    assert.equal(m.upstream.files.log.length, before.files, 'no tarball asked for')
    assert.equal(canary.log.length, 0)
  })

  it('answers 404 for registry endpoints a mirror does not serve, without an upstream request', async () => {
    const before = seenUpstream()
    for (const p of ['-/v1/search?text=tiny', '-/whoami', '-/package/tiny-dep/dist-tags', 'tiny-dep/1.0.0', '.hidden']) {
      assert.equal((await m.f.get(`npm/${p}`)).status, 404, p)
    }
    assert.equal(seenUpstream(), before)
    assert.ok(upstreamRequests > 0)
  })

  it('hands a client only tarball URLs of the origin it asked, whatever another client\'s Host', async () => {
    const tarballOf = (body: Buffer): string => JSON.parse(body.toString()).versions['1.0.0'].dist.tarball
    const evil = await m.f.get('npm/tiny-dep', { headers: { host: 'evil.example:8443', accept: ABBREVIATED_ACCEPT } })
    assert.equal(tarballOf(evil.body), 'http://evil.example:8443/pulp/content/npm/tiny-dep/-/tiny-dep-1.0.0.tgz')
    const honest = await m.f.get('npm/tiny-dep', { headers: { accept: ABBREVIATED_ACCEPT } })
    assert.equal(tarballOf(honest.body), `${m.registry}tiny-dep/-/tiny-dep-1.0.0.tgz`)
    const bad = await m.f.get('npm/tiny-dep', { headers: { host: 'evil.example/x?' } })
    assert.equal(bad.status, 400)
  })

  it('names the origin the proxy says once the host app trusts it, and only then', async () => {
    const tarballOf = (body: Buffer): string => JSON.parse(body.toString()).versions['1.0.0'].dist.tarball
    const forwarded = { 'x-forwarded-host': 'npm.example.org', 'x-forwarded-proto': 'https' }
    assert.equal(tarballOf((await m.f.get('npm/tiny-dep', { headers: forwarded })).body), `${m.registry}tiny-dep/-/tiny-dep-1.0.0.tgz`)
    m.f.t.app.set('trust proxy', 'loopback')
    try {
      const res = await m.f.get('npm/tiny-dep', { headers: forwarded })
      assert.equal(tarballOf(res.body), 'https://npm.example.org/pulp/content/npm/tiny-dep/-/tiny-dep-1.0.0.tgz')
    } finally {
      m.f.t.app.set('trust proxy', false)
    }
  })

  it(`rewrites packuments for at most ${MAX_ORIGINS} origins per remote, then answers 400`, async () => {
    // Four are in use already: 127.0.0.1 with this port and the canary's, evil.example:8443
    // and https://npm.example.org.
    for (let i = 4; i < MAX_ORIGINS; i++) assert.equal((await m.f.get('npm/tiny-dep', { headers: { host: `h${i}.example` } })).status, 200)
    const refused = await m.f.get('npm/tiny-dep', { headers: { host: 'one-more.example' } })
    assert.equal(refused.status, 400)
    assert.match(JSON.parse(refused.body.toString()).error.message, new RegExp(`npm remote "npmjs" already serves packuments for ${MAX_ORIGINS} origins`))
    assert.equal((await m.f.get('npm/tiny-dep')).status, 200, 'an origin in use still is')
    // The distributions and remotes are read again after a second: the bound outlives that.
    await sleep(1100)
    assert.equal((await m.f.get('npm/tiny-dep', { headers: { host: 'one-more.example' } })).status, 400, 'still refused a second later')
    // Tarballs do not depend on the origin.
    assert.equal((await m.f.get('npm/tiny-dep/-/tiny-dep-1.0.0.tgz', { headers: { host: 'yet-another.example' } })).status, 200)
  })
})

describe('an npm remote under the contentOrigin option', () => {
  let m: NpmMirror
  before(async () => { m = await startNpmMirror({ contentOrigin: 'https://npm.example.org' }) })
  after(async () => { await m?.cleanup() })

  it('names that origin in every packument, keeps one copy whatever the Host, and never refuses a host', async () => {
    const tarballOf = (body: Buffer): string => JSON.parse(body.toString()).versions['1.0.0'].dist.tarball
    for (let i = 0; i < MAX_ORIGINS + 4; i++) {
      const res = await m.f.get('npm/tiny-dep', { headers: { host: `h${i}.example` } })
      assert.equal(res.status, 200, `Host h${i}.example`)
      assert.equal(tarballOf(res.body), 'https://npm.example.org/pulp/content/npm/tiny-dep/-/tiny-dep-1.0.0.tgz')
    }
    assert.equal(m.upstream.registry.hits('/registry/tiny-dep'), 1, 'one copy, fetched once')
  })
})
