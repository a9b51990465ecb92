import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { FileContent, FileRemote, Remote, type RemoteSettings, type UpstreamContext } from '../../lib'
import { compilePathGlobs } from '../../lib/plugins/path-globs'

function settings (fields: Partial<RemoteSettings> = {}): RemoteSettings {
  return {
    name: 'r', url: 'http://h/repo/', remoteTypeId: 'file', headers: {}, policy: 'on_demand',
    connectTimeout: null, totalTimeout: null, proxyUrl: null, tlsValidation: true, negativeCacheTtl: 60,
    metadataPatterns: null, metadataTtl: 300, staleIfError: 86400, maxFailures: 5, ...fields
  }
}

describe('metadata path globs', () => {
  it('matches * within one segment and ** across any number of them', () => {
    const match = compilePathGlobs(['dists/**', '*.json', 'a/**/Release'])
    for (const p of ['dists/x', 'dists/stable/main/Packages.gz', 'x.json', 'a/Release', 'a/b/c/Release']) assert.ok(match(p), p)
    for (const p of ['pool/x.deb', 'dir/x.json', 'distsx/y', 'a/Releases', 'b/Release']) assert.ok(!match(p), p)
  })

  it('takes every other character literally', () => {
    const match = compilePathGlobs(['a.b(c)+?'])
    assert.ok(match('a.b(c)+?'))
    assert.ok(!match('aXb(c)+?'))
    assert.ok(!compilePathGlobs([])('anything'))
  })
})

describe('Remote.getFreshness', () => {
  it('uses the file type\'s default patterns: PULP_MANIFEST at any depth is metadata', () => {
    const remote = new FileRemote(settings())
    assert.deepEqual(remote.metadataPatterns, ['PULP_MANIFEST', '**/PULP_MANIFEST'])
    assert.equal(remote.getFreshness('PULP_MANIFEST'), 'metadata')
    assert.equal(remote.getFreshness('a/b/PULP_MANIFEST'), 'metadata')
    assert.equal(remote.getFreshness('a/b.rpm'), 'immutable')
  })

  it('takes the remote\'s own patterns over the type\'s', () => {
    const remote = new FileRemote(settings({ metadataPatterns: ['repodata/*'] }))
    assert.equal(remote.getFreshness('repodata/repomd.xml'), 'metadata')
    assert.equal(remote.getFreshness('PULP_MANIFEST'), 'immutable')
  })

  it('makes a trailing-slash path metadata, never a unit', () => {
    assert.equal(new FileRemote(settings()).getFreshness('simple/foo/'), 'metadata')
  })

  it('streams under the streamed policy and for a content type of null', () => {
    assert.equal(new FileRemote(settings({ policy: 'streamed' })).getFreshness('PULP_MANIFEST'), 'streamed')
    class Meta extends FileRemote {
      override getRemoteArtifactContentType (p: string): typeof FileContent | null { return p.endsWith('.meta') ? null : FileContent }
    }
    assert.equal(new Meta(settings()).getFreshness('x.meta'), 'streamed')
    assert.equal(new Meta(settings()).getFreshness('x.bin'), 'immutable')
  })

  it('has no metadata patterns on the base Remote', () => {
    assert.deepEqual(new Remote(settings()).metadataPatterns, [])
  })
})

describe('Remote.getUpstreamTarget', () => {
  it('defaults to getRemoteArtifactUrl and no digest', async () => {
    const context: UpstreamContext = {
      readCachedMetadata: async () => null, readBinding: async () => null, ensureMetadata: async () => {}, basePath: '/pulp/content/r/', request: { headers: {} } as IncomingMessage
    }
    assert.deepEqual(await new FileRemote(settings()).getUpstreamTarget('a b/c', context), { url: 'http://h/repo/a%20b/c' })
  })
})
