import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { NpmRemote } from '../../lib/plugins/npm/remote'
import type { RemoteSettings, UpstreamContext, UpstreamTarget } from '../../lib/plugins/remote'
import { createRegistry } from '../../lib/plugins/builtins'

function remote (fields: Partial<RemoteSettings> = {}): NpmRemote {
  return new NpmRemote({
    name: 'npmjs', url: 'https://registry.test/npm/', remoteTypeId: 'npm', headers: {}, policy: 'on_demand',
    connectTimeout: null, totalTimeout: null, proxyUrl: null, tlsValidation: true, negativeCacheTtl: 60,
    metadataPatterns: null, metadataTtl: 300, staleIfError: 86400, maxFailures: 5, ...fields
  })
}

/**
 * A context for a request with these headers, whose bindings table holds `bound`; `learnt`
 * is what a packument served by `ensureMetadata` binds.
 */
function context (headers: Record<string, string>, bound: Record<string, UpstreamTarget> = {},
  learnt: Record<string, Record<string, UpstreamTarget>> = {}): UpstreamContext & { asked: string[], ensured: string[] } {
  const asked: string[] = []
  const ensured: string[] = []
  return {
    asked,
    ensured,
    request: { headers: { host: 'mirror.test:3000', ...headers }, socket: {} } as unknown as IncomingMessage,
    readCachedMetadata: async () => null,
    readBinding: async (p) => { asked.push(p); return bound[p] ?? null },
    ensureMetadata: async (p) => { ensured.push(p); Object.assign(bound, learnt[p]) },
    basePath: '/pulp/content/npm/'
  }
}

describe('the npm remote type', () => {
  it('is built in as "npm" and takes scoped names', () => {
    assert.equal(createRegistry([]).remoteType('npm')?.Class, NpmRemote)
    assert.equal(NpmRemote.acceptsScopedNames(), true)
  })

  it('keeps packuments as metadata and tarballs as immutable; the streamed policy streams tarballs only', () => {
    const r = remote()
    assert.equal(r.getFreshness('left-pad'), 'metadata')
    assert.equal(r.getFreshness('@types/node'), 'metadata')
    assert.equal(r.getFreshness('left-pad/-/left-pad-1.3.0.tgz'), 'immutable')
    const streamed = remote({ policy: 'streamed' })
    assert.equal(streamed.getFreshness('left-pad'), 'metadata', 'rewritten, or npm would go around the mirror')
    assert.equal(streamed.getFreshness('left-pad/-/left-pad-1.3.0.tgz'), 'streamed')
  })

  it('asks the registry for a packument per representation and origin', async () => {
    const r = remote()
    const abbreviated = await r.getUpstreamTarget('@types/node', context({ accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' }))
    assert.deepEqual(abbreviated, {
      url: 'https://registry.test/npm/@types%2fnode',
      variant: 'abbreviated http://mirror.test:3000',
      accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'
    })
    const full = await r.getUpstreamTarget('left-pad', context({ accept: 'application/json', host: 'other.test' }))
    assert.deepEqual(full, { url: 'https://registry.test/npm/left-pad', variant: 'full http://other.test', accept: 'application/json' })
  })

  it('finds a tarball only through its binding, and nothing else at all', async () => {
    const target = { url: 'https://files.test/l.tgz', digest: { algorithm: 'sha1' as const, hex: 'a'.repeat(40) } }
    const c = context({}, { 'left-pad/-/left-pad-1.3.0.tgz': target })
    assert.deepEqual(await remote().getUpstreamTarget('left-pad/-/left-pad-1.3.0.tgz', c), target)
    assert.equal(await remote().getUpstreamTarget('left-pad/-/left-pad-9.tgz', c), null)
    assert.equal(await remote().getUpstreamTarget('-/v1/search', c), null)
    assert.deepEqual(c.asked, ['left-pad/-/left-pad-1.3.0.tgz', 'left-pad/-/left-pad-9.tgz', 'left-pad/-/left-pad-9.tgz'])
    assert.deepEqual(c.ensured, ['left-pad'], 'the one tarball not bound had its packument asked for, once')
  })

  it('has a tarball asked before its packument bound by that packument, then looks again', async () => {
    const target = { url: 'https://files.test/node.tgz' }
    const c = context({}, {}, { '@types/node': { '@types/node/-/node-20.1.0.tgz': target } })
    assert.deepEqual(await remote().getUpstreamTarget('@types/node/-/node-20.1.0.tgz', c), target)
    assert.deepEqual(c.ensured, ['@types/node'])
    assert.deepEqual(c.asked, ['@types/node/-/node-20.1.0.tgz', '@types/node/-/node-20.1.0.tgz'])
  })

  it('asks for the abbreviated packument when only its bindings are wanted, under one variant whatever the Host', async () => {
    const c = { ...context({ accept: 'application/json', host: 'not a host' }), forBindings: true }
    assert.deepEqual(await remote().getUpstreamTarget('left-pad', c), {
      url: 'https://registry.test/npm/left-pad',
      variant: 'bindings',
      accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'
    })
  })

  it('rewrites a packument for the origin of its variant', () => {
    const body = Buffer.from(JSON.stringify({ name: 'p', versions: { '1.0.0': { dist: { tarball: 'https://files.test/p.tgz' } } } }))
    const out = remote().rewriteMetadata('p', body, {
      variant: 'abbreviated https://mirror.test', contentType: 'application/json', url: 'https://registry.test/npm/p',
      basePath: '/pulp/content/npm/', origin: 'http://ignored.test'
    })
    assert.equal(JSON.parse(String(out?.body)).versions['1.0.0'].dist.tarball, 'https://mirror.test/pulp/content/npm/p/-/p-1.0.0.tgz')
    assert.deepEqual(out?.bindings, [{ relativePath: 'p/-/p-1.0.0.tgz', url: 'https://files.test/p.tgz' }])
    const forBindings = remote().rewriteMetadata('p', body, {
      variant: 'bindings', contentType: 'application/json', url: 'https://registry.test/npm/p', basePath: '/pulp/content/npm/', origin: 'http://ignored.test'
    })
    assert.equal(JSON.parse(String(forBindings?.body)).versions['1.0.0'].dist.tarball, '/pulp/content/npm/p/-/p-1.0.0.tgz', 'no origin: served to nobody')
    assert.deepEqual(forBindings?.bindings, out?.bindings)
  })
})
