import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { rm } from 'node:fs/promises'
import { DebRemote } from '../../lib/plugins/deb/remote'
import type { RemoteSettings, UpstreamContext } from '../../lib/plugins/remote'
import { createRegistry } from '../../lib/plugins/builtins'
import { buildDistsRepo, type AptRepo } from '../support/apt'
import { skipUnless } from '../support/clients'
import { tempDir } from '../support/pulp'

const INDEX = 'dists/stable/main/binary-all/Packages'
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

function remote (fields: Partial<RemoteSettings> = {}): DebRemote {
  return new DebRemote({
    name: 'debian', url: 'http://up/debian/', remoteTypeId: 'deb', headers: {}, policy: 'on_demand',
    connectTimeout: null, totalTimeout: null, proxyUrl: null, tlsValidation: true, negativeCacheTtl: 60,
    metadataPatterns: null, metadataTtl: 300, staleIfError: 86400, maxFailures: 5, ...fields
  })
}

/** A context whose cache holds `files` (path -> body) and counts what was read. */
function context (files: Record<string, Buffer | undefined>): UpstreamContext & { reads: string[] } {
  const reads: string[] = []
  return {
    reads,
    request: {} as IncomingMessage,
    readCachedMetadata: async (p) => { reads.push(p); return files[p] ?? null },
    readBinding: async () => null,
    ensureMetadata: async () => { throw new Error('not expected') },
    basePath: '/pulp/content/deb/'
  }
}

describe('the deb remote type', () => {
  it('is built in as "deb"', () => {
    assert.equal(createRegistry([]).remoteType('deb')?.Class, DebRemote)
  })

  it('classes dists/ as metadata, by-hash and pool/ as immutable, and honours the policy and metadata_patterns', () => {
    const r = remote()
    assert.equal(r.getFreshness('dists/stable/InRelease'), 'metadata')
    assert.equal(r.getFreshness(`${INDEX}.gz`), 'metadata')
    assert.equal(r.getFreshness(`dists/stable/main/binary-all/by-hash/SHA256/${'a'.repeat(64)}`), 'immutable')
    assert.equal(r.getFreshness('pool/main/h/hello_1.0_all.deb'), 'immutable')
    assert.equal(remote({ metadataPatterns: ['pool/**/*.dsc'] }).getFreshness('pool/main/h/hello.dsc'), 'metadata')
    assert.equal(remote({ metadataPatterns: ['pool/**'] }).getFreshness('dists/stable/Release'), 'metadata')
    assert.equal(remote({ policy: 'streamed' }).getFreshness('dists/stable/Release'), 'streamed')
  })
})

describe('DebRemote.getUpstreamTarget on Release files apt-ftparchive wrote', { skip: skipUnless('apt-ftparchive', 'dpkg-deb') }, () => {
  let plainRoot: string
  let hashedRoot: string
  let plain: AptRepo
  let hashed: AptRepo
  before(async () => {
    plainRoot = await tempDir('deb-remote-')
    hashedRoot = await tempDir('deb-remote-')
    const debs = [{ name: 'hello', version: '1.0', files: { 'usr/share/hello/v': '1\n' } }]
    plain = await buildDistsRepo(plainRoot, debs)
    hashed = await buildDistsRepo(hashedRoot, debs, { byHash: true, sign: true })
  })
  after(async () => {
    for (const root of [plainRoot, hashedRoot]) await rm(root, { recursive: true, force: true })
  })

  it('gives an index the SHA256 the cached Release lists, at its plain URL without by-hash', async () => {
    const target = await remote().getUpstreamTarget(`${INDEX}.gz`, context(plain.files))
    assert.deepEqual(target, {
      url: `http://up/debian/${INDEX}.gz`,
      digest: { algorithm: 'sha256', hex: sha256(plain.files[`${INDEX}.gz`]) }
    })
  })

  it('asks for the by-hash copy when the Release says Acquire-By-Hash: yes, and reads InRelease over Release', async () => {
    const hex = sha256(hashed.files[INDEX])
    // A Release of another generation beside it must not be consulted: apt reads InRelease.
    const ctx = context({ ...hashed.files, 'dists/stable/Release': plain.files['dists/stable/Release'] })
    const target = await remote().getUpstreamTarget(INDEX, ctx)
    assert.deepEqual(target, {
      url: `http://up/debian/dists/stable/main/binary-all/by-hash/SHA256/${hex}`,
      digest: { algorithm: 'sha256', hex }
    })
    assert.deepEqual(ctx.reads, ['dists/stable/InRelease'])
  })

  it('falls back to the plain URL and no digest when no Release is cached or it does not list the path', async () => {
    assert.deepEqual(await remote().getUpstreamTarget(`${INDEX}.xz`, context(plain.files)), { url: `http://up/debian/${INDEX}.xz` })
    assert.deepEqual(await remote().getUpstreamTarget(INDEX, context({})), { url: `http://up/debian/${INDEX}` })
  })

  it('fetches Release and InRelease by their plain URL, and checks a by-hash path against its name', async () => {
    const ctx = context(hashed.files)
    assert.deepEqual(await remote().getUpstreamTarget('dists/stable/InRelease', ctx), { url: 'http://up/debian/dists/stable/InRelease' })
    assert.deepEqual(await remote().getUpstreamTarget('dists/stable/Release', ctx), { url: 'http://up/debian/dists/stable/Release' })
    const hex = sha256(hashed.files[INDEX])
    const byHash = `dists/stable/main/binary-all/by-hash/SHA256/${hex}`
    assert.deepEqual(await remote().getUpstreamTarget(byHash, ctx), { url: `http://up/debian/${byHash}`, digest: { algorithm: 'sha256', hex } })
    assert.deepEqual(await remote().getUpstreamTarget('pool/main/hello_1.0_all.deb', ctx), { url: 'http://up/debian/pool/main/hello_1.0_all.deb' })
    assert.deepEqual(ctx.reads, [], 'neither needs a Release')
  })

  it('finds the Release of a flat repository beside its indexes', async () => {
    const files = { 'flat/Release': plain.files['dists/stable/Release'] }
    const target = await remote().getUpstreamTarget('flat/main/binary-all/Packages', context(files))
    assert.equal(target?.digest?.hex, sha256(plain.files[INDEX]))
  })
})
