import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FileRemote } from '../../lib'
import { startSite, type PublishedSite } from '../support/clients'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/** A type that takes npm's `@scope%2fname`, as the npm type does, over a plain directory upstream. */
class ScopedRemote extends FileRemote {
  static override metadata (): { id: string, displayName: string } {
    return { id: 'scoped-file', displayName: 'Files with scoped names' }
  }

  static override acceptsScopedNames (): boolean {
    return true
  }
}

describe('the one encoded slash of @scope%2fname', () => {
  let f: PullThroughFixture

  before(async () => {
    f = await startPullThrough({ plugins: [{ remoteTypes: [ScopedRemote] }] })
    f.upstream.on('/files/%40scope/name', (_req, res) => { res.end('scoped packument') })
    f.upstream.on('/files/%40scope/name/-/name-1.0.0.tgz', (_req, res) => { res.end('tarball') })
    await f.wire('scoped', { remoteTypeId: 'scoped-file' })
    await f.wire('plain')
    // A base path whose last segment looks like a scope: the encoded slash would straddle it.
    await f.wire('npm/@scope', { remoteTypeId: 'scoped-file' })
  })
  after(async () => { await f?.cleanup() })

  it('reaches a type that accepts it as the relative path @scope/name', async () => {
    for (const name of ['@scope%2fname', '@scope%2Fname', '@scope/name']) {
      const res = await f.get(`scoped/${name}`)
      assert.equal(res.status, 200, name)
      assert.equal(res.body.toString(), 'scoped packument')
    }
    const below = await f.get('scoped/@scope%2fname/-/name-1.0.0.tgz')
    assert.equal(below.body.toString(), 'tarball')
  })

  it('answers 400 under a file remote, and asks its upstream nothing', async () => {
    const before = f.upstream.log.length
    const res = await f.get('plain/@scope%2fname')
    assert.equal(res.status, 400)
    assert.match(JSON.parse(res.body.toString()).error.message, /encoded separators are not allowed.*@scope%2fname/)
    assert.equal(f.upstream.log.length, before)
  })

  it('answers 400 when the encoded slash would cross the base path', async () => {
    const before = f.upstream.log.length
    assert.equal((await f.get('npm/@scope%2fname')).status, 400)
    assert.equal(f.upstream.log.length, before)
  })

  it('answers 400 for any other encoded slash, even under a type that accepts scoped names', async () => {
    const before = f.upstream.log.length
    for (const name of ['@scope%2fname%2fx', 'scope%2fname', '@scope%2f..', '@scope%2fname/@other%2fname', 'a%2fb']) {
      assert.equal((await f.get(`scoped/${name}`)).status, 400, name)
    }
    assert.equal(f.upstream.log.length, before)
  })

  it('answers 400 where no distribution has the path', async () => {
    assert.equal((await f.get('nowhere/@scope%2fname')).status, 400)
  })
})

describe('the static tree and @scope%2fname', () => {
  let site: PublishedSite

  before(async () => {
    site = await startSite({ relativeUrl: 'tree' })
    await site.publish({ '@scope/name': 'published' })
  })
  after(async () => { await site?.close() })

  it('serves the published file by its real path and refuses the encoded one', async () => {
    const plain = await fetch(`${site.url}/@scope/name`)
    assert.equal(plain.status, 200)
    assert.equal(await plain.text(), 'published')
    const encoded = await fetch(`${site.url}/@scope%2fname`)
    assert.equal(encoded.status, 400)
    assert.match(((await encoded.json()) as { error: { message: string } }).error.message, /encoded separators/)
  })
})
