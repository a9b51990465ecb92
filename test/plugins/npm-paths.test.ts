import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { npmPathOf, packumentUrl, tarballPath } from '../../lib/plugins/npm/paths'

describe('npm paths', () => {
  it('names packuments, plain and scoped', () => {
    assert.deepEqual(npmPathOf('left-pad'), { kind: 'packument', name: 'left-pad' })
    assert.deepEqual(npmPathOf('@types/node'), { kind: 'packument', name: '@types/node' })
    assert.deepEqual(npmPathOf('JSONStream'), { kind: 'packument', name: 'JSONStream' })
  })

  it('names tarballs below a package', () => {
    assert.deepEqual(npmPathOf('left-pad/-/left-pad-1.3.0.tgz'), { kind: 'tarball', name: 'left-pad', file: 'left-pad-1.3.0.tgz' })
    assert.deepEqual(npmPathOf('@types/node/-/node-20.1.0-beta.1+b2.tgz'), { kind: 'tarball', name: '@types/node', file: 'node-20.1.0-beta.1+b2.tgz' })
  })

  for (const p of ['', '-/v1/search', '-/whoami', '.hidden', '_private', '@types', '@types/', '@/node', '@types/.x', 'a/b', 'a/-/b.tar.gz', 'a/-/b.tgz/c',
    'a/-/.tgz', 'a/-', '@types/node/-', 'a/', `${'a'.repeat(215)}`, 'a b', 'a%2fb', '@a/b/c']) {
    it(`names nothing for ${JSON.stringify(p)}`, () => {
      assert.equal(npmPathOf(p), null)
    })
  }

  it('asks a registry for a scoped packument with its slash encoded, below the root\'s path, query kept', () => {
    assert.equal(packumentUrl('https://registry.npmjs.org/', '@types/node'), 'https://registry.npmjs.org/@types%2fnode')
    assert.equal(packumentUrl('https://r.example/api/npm/remote', 'left-pad'), 'https://r.example/api/npm/remote/left-pad')
    assert.equal(packumentUrl('https://r.example/npm/?t=1#x', 'a'), 'https://r.example/npm/a?t=1')
  })

  it('names a version\'s tarball as the registry does, without the scope in the file name', () => {
    assert.equal(tarballPath('left-pad', '1.3.0'), 'left-pad/-/left-pad-1.3.0.tgz')
    assert.equal(tarballPath('@types/node', '20.1.0'), '@types/node/-/node-20.1.0.tgz')
    assert.equal(tarballPath('a', '1.0.0/../../x'), null)
    assert.equal(tarballPath('a', '1 0'), null)
  })
})
