import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { UpstreamError } from '../../lib/errors'
import { distDigest } from '../../lib/plugins/npm/integrity'
import { rewritePackument } from '../../lib/plugins/npm/packument'

const bytes = Buffer.from('a tarball')
const sha512 = createHash('sha512').update(bytes)
const sha1hex = createHash('sha1').update(bytes).digest('hex')
const sri = `sha512-${sha512.copy().digest('base64')}`
const sha512hex = sha512.digest('hex')

describe('distDigest', () => {
  it('takes dist.integrity\'s sha512, base64 to hex', () => {
    assert.deepEqual(distDigest({ integrity: sri, shasum: sha1hex }), { algorithm: 'sha512', hex: sha512hex })
  })

  it('takes the strongest of several, whatever their order, options ignored', () => {
    const sha1sri = `sha1-${Buffer.from(sha1hex, 'hex').toString('base64')}`
    assert.deepEqual(distDigest({ integrity: `${sha1sri} ${sri}?x=1` }), { algorithm: 'sha512', hex: sha512hex })
    assert.deepEqual(distDigest({ integrity: sha1sri }), { algorithm: 'sha1', hex: sha1hex })
  })

  it('falls back to dist.shasum (hex sha1) when the integrity is missing or malformed', () => {
    assert.deepEqual(distDigest({ shasum: sha1hex.toUpperCase() }), { algorithm: 'sha1', hex: sha1hex })
    assert.deepEqual(distDigest({ integrity: 'sha512-dG9vIHNob3J0', shasum: sha1hex }), { algorithm: 'sha1', hex: sha1hex })
    assert.deepEqual(distDigest({ integrity: 'md5-AAAA', shasum: sha1hex }), { algorithm: 'sha1', hex: sha1hex })
  })

  it('gives none when dist lists none that holds', () => {
    assert.equal(distDigest({ shasum: 'abc' }), undefined)
    assert.equal(distDigest({}), undefined)
    assert.equal(distDigest(null), undefined)
    assert.equal(distDigest('sha512-x'), undefined)
  })
})

describe('rewritePackument', () => {
  const base = 'http://mirror.test/pulp/content/npm/'
  const packument = (tarball: unknown, extra: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({
    name: '@s/p',
    'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { name: '@s/p', version: '1.0.0', dependencies: { d: '^1' }, dist: { tarball, integrity: sri, shasum: sha1hex } } },
    ...extra
  }))

  it('points every dist.tarball at the distribution and binds the path to the upstream URL and digest', () => {
    const out = rewritePackument(packument('https://files.test/s/p-1.0.0.tgz', { readme: 'kept', time: { '1.0.0': 't' } }),
      { name: '@s/p', url: 'https://registry.test/@s%2fp', tarballBase: base })
    const doc = JSON.parse(out.body)
    assert.equal(doc.versions['1.0.0'].dist.tarball, `${base}@s/p/-/p-1.0.0.tgz`)
    assert.equal(doc.versions['1.0.0'].dist.integrity, sri)
    assert.deepEqual(doc.versions['1.0.0'].dependencies, { d: '^1' })
    assert.equal(doc.readme, 'kept')
    assert.deepEqual(doc.time, { '1.0.0': 't' })
    assert.deepEqual(out.bindings, [{ relativePath: '@s/p/-/p-1.0.0.tgz', url: 'https://files.test/s/p-1.0.0.tgz', digest: { algorithm: 'sha512', hex: sha512hex } }])
  })

  it('rewrites an abbreviated packument the same way', () => {
    const abbreviated = Buffer.from(JSON.stringify({ name: 'p', modified: 'm', 'dist-tags': {}, versions: { '2.0.0': { name: 'p', version: '2.0.0', dist: { tarball: 'http://f.test/p.tgz', shasum: sha1hex } } } }))
    const out = rewritePackument(abbreviated, { name: 'p', url: 'http://r.test/p', tarballBase: base })
    assert.equal(JSON.parse(out.body).versions['2.0.0'].dist.tarball, `${base}p/-/p-2.0.0.tgz`)
    assert.deepEqual(out.bindings, [{ relativePath: 'p/-/p-2.0.0.tgz', url: 'http://f.test/p.tgz', digest: { algorithm: 'sha1', hex: sha1hex } }])
  })

  it('resolves a relative tarball URL against the packument\'s', () => {
    const out = rewritePackument(packument('../files/p-1.0.0.tgz'), { name: '@s/p', url: 'https://registry.test/npm/@s%2fp', tarballBase: base })
    assert.equal(out.bindings[0].url, 'https://registry.test/files/p-1.0.0.tgz')
  })

  it('drops a tarball URL it cannot bind, so no client goes around the mirror', () => {
    for (const tarball of ['file:///etc/passwd', 'javascript:alert(1)', 42, 'http://[bad']) {
      const out = rewritePackument(packument(tarball), { name: '@s/p', url: 'https://registry.test/@s%2fp', tarballBase: base })
      assert.equal(JSON.parse(out.body).versions['1.0.0'].dist.tarball, undefined, String(tarball))
      assert.deepEqual(out.bindings, [])
    }
    const badVersion = Buffer.from(JSON.stringify({ versions: { '1/../x': { dist: { tarball: 'http://f.test/x.tgz' } } } }))
    const out = rewritePackument(badVersion, { name: 'p', url: 'http://r.test/p', tarballBase: base })
    assert.equal(JSON.parse(out.body).versions['1/../x'].dist.tarball, undefined)
  })

  it('keeps documents without versions, and refuses what is not a JSON object (502)', () => {
    assert.deepEqual(rewritePackument(Buffer.from('{"name":"p"}'), { name: 'p', url: 'http://r.test/p', tarballBase: base }), { body: '{"name":"p"}', bindings: [] })
    for (const body of ['<html>', '[1]', 'null']) {
      assert.throws(() => rewritePackument(Buffer.from(body), { name: 'p', url: 'http://r.test/p', tarballBase: base }),
        (err: unknown) => err instanceof UpstreamError && /packument of "p"/.test(err.message))
    }
  })
})
