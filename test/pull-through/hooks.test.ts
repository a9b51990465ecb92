import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Content, FileContent, FileRemote, PluginRegistry, Remote, type Artifact, type RemoteSettings } from '../../lib'
import { upstreamFailure } from '../../lib/pull-through/upstream'

function settings (url: string): RemoteSettings {
  return {
    name: 'r', url, remoteTypeId: 'file', headers: { authorization: 'x' }, policy: 'on_demand',
    connectTimeout: null, totalTimeout: null, proxyUrl: null, tlsValidation: true, negativeCacheTtl: null,
    metadataPatterns: null, metadataTtl: 300, staleIfError: 86400, maxFailures: 5
  }
}

const artifact: Artifact = { sha256: 'a'.repeat(64), size: 3, path: '/store/aa/aaa' }

describe('Remote.getRemoteArtifactUrl', () => {
  it('treats the url as a directory, adding a missing trailing slash', () => {
    assert.equal(new FileRemote(settings('http://h/repo')).getRemoteArtifactUrl('a/b.rpm'), 'http://h/repo/a/b.rpm')
    assert.equal(new FileRemote(settings('http://h/repo/')).getRemoteArtifactUrl('a/b.rpm'), 'http://h/repo/a/b.rpm')
    assert.equal(new FileRemote(settings('https://h')).getRemoteArtifactUrl('x'), 'https://h/x')
  })

  it('percent-encodes each segment and keeps the query of the url', () => {
    const remote = new FileRemote(settings('http://h/re%20po/?token=t'))
    assert.equal(remote.getRemoteArtifactUrl('dir one/é#?.txt'), 'http://h/re%20po/dir%20one/%C3%A9%23%3F.txt?token=t')
  })

  it('throws a RangeError for a leading slash', () => {
    assert.throws(() => new FileRemote(settings('http://h/')).getRemoteArtifactUrl('/etc/passwd'), RangeError)
  })

  it('is built from a stored remote and keeps its settings', () => {
    const remote = new FileRemote(settings('http://h/'))
    assert.ok(remote instanceof Remote)
    assert.equal(remote.headers.authorization, 'x')
    assert.ok(Object.isFrozen(remote.headers))
  })
})

describe('Remote.getRemoteArtifactContentType', () => {
  it('is FileContent by default', () => {
    assert.equal(new FileRemote(settings('http://h/')).getRemoteArtifactContentType('a'), FileContent)
  })
})

describe('Content.initFromArtifactAndRelativePath', () => {
  it('returns an unsaved unit of the class it is called on', () => {
    const unit = FileContent.initFromArtifactAndRelativePath(artifact, 'a/b.txt')
    assert.ok(unit instanceof FileContent)
    assert.equal((unit as FileContent).typeId, 'file')
    assert.equal((unit as FileContent).relativePath, 'a/b.txt')
    assert.equal((unit as FileContent).sha256, artifact.sha256)
    assert.equal((unit as FileContent).size, 3)
  })

  it('throws a RangeError for a leading slash', () => {
    assert.throws(() => FileContent.initFromArtifactAndRelativePath(artifact, '/a'), RangeError)
  })

  it('may be overridden to return a unit with its artifacts', () => {
    class Pair extends Content {
      static metadata (): { id: string, displayName: string } { return { id: 'pair', displayName: 'Pair' } }
      static override initFromArtifactAndRelativePath (a: Artifact, relativePath: string): [Pair, Record<string, Artifact | null>] {
        return [new Pair({ relativePath, sha256: a.sha256, size: a.size }), { [relativePath]: a, [`${relativePath}.sig`]: null }]
      }
    }
    const [unit, artifacts] = Pair.initFromArtifactAndRelativePath(artifact, 'x')
    assert.equal(unit.typeId, 'pair')
    assert.deepEqual(Object.keys(artifacts), ['x', 'x.sig'])
  })
})

describe('the registry and the built-in types', () => {
  it('takes remote and content types with a static metadata()', () => {
    const registry = new PluginRegistry()
    registry.registerRemoteType(FileRemote).registerContentType(FileContent)
    assert.equal(registry.remoteType('file')?.Class, FileRemote)
    assert.equal(registry.contentType('file')?.Class, FileContent)
    class NoMetadata extends FileRemote {}
    assert.throws(() => registry.registerRemoteType(NoMetadata), /metadata/)
  })
})

describe('upstream failures', () => {
  it('maps timeouts to 504 and connection errors to 502, naming the remote', () => {
    const timeout = upstreamFailure(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'up', 'a.bin')
    assert.equal(timeout.code, 'ERR_PULP_UPSTREAM_TIMEOUT')
    assert.match(timeout.message, /remote "up"/)
    const refused = upstreamFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'up', 'a.bin')
    assert.equal(refused.code, 'ERR_PULP_UPSTREAM')
    assert.match(refused.message, /remote "up" failed for "a.bin": connection refused/)
  })
})
