import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { byHashDigest, debPathClass, releaseDirs } from '../../lib/plugins/deb/paths'

describe('deb path classes', () => {
  it('takes dists/** for metadata, by-hash copies excepted', () => {
    for (const p of ['dists/stable/InRelease', 'dists/stable/Release', 'dists/stable/Release.gpg', 'dists/stable/main/binary-amd64/Packages.xz',
      'dists/stable/main/i18n/Translation-en.bz2', 'dists/stable/main/Contents-amd64.gz', 'dists/stable/updates/main/binary-all/Packages']) {
      assert.equal(debPathClass(p), 'metadata', p)
    }
    assert.equal(debPathClass(`dists/stable/main/binary-all/by-hash/SHA256/${'a'.repeat(64)}`), 'immutable')
  })

  it('takes pool/** and anything else for immutable, but the indexes of a flat repository', () => {
    for (const p of ['pool/main/h/hello/hello_1.0_all.deb', 'hello_1.0_all.deb', 'dists', 'README', 'ls-lR.gz']) assert.equal(debPathClass(p), 'immutable', p)
    for (const p of ['Release', 'InRelease', 'Packages.gz', 'flat/Packages', 'flat/Sources.xz', 'Translation-en']) assert.equal(debPathClass(p), 'metadata', p)
  })
})

describe('byHashDigest', () => {
  it('names the digest of a by-hash path and nothing else', () => {
    const hex = 'ab'.repeat(32)
    assert.deepEqual(byHashDigest(`dists/s/main/binary-all/by-hash/SHA256/${hex.toUpperCase()}`), { algorithm: 'sha256', hex })
    assert.deepEqual(byHashDigest(`dists/s/main/by-hash/SHA512/${'c'.repeat(128)}`), { algorithm: 'sha512', hex: 'c'.repeat(128) })
    assert.equal(byHashDigest(`dists/s/main/by-hash/MD5Sum/${'c'.repeat(32)}`), null)
    assert.equal(byHashDigest('dists/s/main/by-hash/SHA256/short'), null)
    assert.equal(byHashDigest('dists/s/main/binary-all/Packages'), null)
  })
})

describe('releaseDirs', () => {
  it('walks from the suite down for dists/, from the root for a flat repository', () => {
    assert.deepEqual(releaseDirs('dists/stable/main/binary-all/Packages.gz'), ['dists/stable/', 'dists/stable/main/', 'dists/stable/main/binary-all/'])
    assert.deepEqual(releaseDirs('flat/Packages.gz'), ['', 'flat/'])
    assert.deepEqual(releaseDirs('Packages.gz'), [''])
  })
})
