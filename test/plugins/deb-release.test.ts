import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { clearsignedText, parseRelease } from '../../lib/plugins/deb/release'
import { buildDistsRepo, signRelease, type AptRepo } from '../support/apt'
import { skipUnless } from '../support/clients'
import { tempDir } from '../support/pulp'

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

describe('apt Release files as apt-ftparchive and gpg write them', { skip: skipUnless('apt-ftparchive', 'dpkg-deb') }, () => {
  let root: string
  let repo: AptRepo
  before(async () => {
    root = await tempDir('deb-release-')
    repo = await buildDistsRepo(root, [{ name: 'hello', version: '1.0', files: { 'usr/share/hello/a': 'a\n' } }], { byHash: true })
    await signRelease(path.join(root, 'dists', 'stable'))
  })
  after(async () => { await rm(root, { recursive: true, force: true }) })

  it('reads the fields and the SHA256 list of a Release, with the real sizes and hashes', () => {
    const release = parseRelease(repo.files['dists/stable/Release'])
    assert.ok(release !== null)
    assert.equal(release.fields.get('suite'), 'stable')
    assert.equal(release.fields.get('components'), 'main')
    assert.equal(release.acquireByHash, true)
    for (const name of ['main/binary-all/Packages', 'main/binary-all/Packages.gz']) {
      const bytes = repo.files[`dists/stable/${name}`]
      assert.deepEqual(release.sha256.get(name), { sha256: sha256(bytes), size: bytes.length }, name)
    }
    assert.equal(release.sha256.has('Release'), false, 'a Release does not list itself')
  })

  it('reads an InRelease as the Release it signs', async () => {
    const inRelease = await readFile(path.join(root, 'dists', 'stable', 'InRelease'))
    assert.match(inRelease.toString(), /^-----BEGIN PGP SIGNED MESSAGE-----/)
    assert.equal(clearsignedText(inRelease.toString()), repo.files['dists/stable/Release'].toString())
    assert.deepEqual(parseRelease(inRelease), parseRelease(repo.files['dists/stable/Release']))
  })

  it('refuses an InRelease cut before its signature rather than read a shorter list', async () => {
    const inRelease = (await readFile(path.join(root, 'dists', 'stable', 'InRelease'))).toString()
    assert.equal(parseRelease(inRelease.slice(0, inRelease.indexOf('-----BEGIN PGP SIGNATURE-----') - 30)), null)
  })
})

describe('parseRelease', () => {
  it('ignores MD5Sum and SHA1, folds case of field names and skips malformed lines', () => {
    const good = 'a'.repeat(64)
    const release = parseRelease([
      'suite: x', 'acquire-by-hash: no', 'MD5Sum:', ` ${'b'.repeat(32)} 3 main/Packages`,
      'SHA256:', ` ${good.toUpperCase()}   12 main/Packages`, ' nothex 3 main/Sources', ` ${good} big main/Contents`, ''
    ].join('\n'))
    assert.ok(release !== null)
    assert.equal(release.fields.get('suite'), 'x')
    assert.equal(release.acquireByHash, false)
    assert.deepEqual([...release.sha256], [['main/Packages', { sha256: good, size: 12 }]])
  })

  it('undoes dash-escaping and CRLF line ends of a clearsigned text', () => {
    const text = ['-----BEGIN PGP SIGNED MESSAGE-----', 'Hash: SHA256', '', 'Suite: s', '- -x: y', '-----BEGIN PGP SIGNATURE-----', 'zz', '-----END PGP SIGNATURE-----', ''].join('\r\n')
    assert.equal(clearsignedText(text), 'Suite: s\n-x: y\n')
  })

  it('is null for a body that is not a Release', () => {
    assert.equal(parseRelease(''), null)
    assert.equal(parseRelease('<html>\n'), null)
  })
})
