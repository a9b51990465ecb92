import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { buildPublication, publish } from '../support/content-tree'
import { serveFile } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const PAGE = Buffer.from('<!DOCTYPE html>\n<html><body>\n' +
  '<a href="../../packages/foo-1.0.tar.gz#sha256=0000000000000000000000000000000000000000000000000000000000000000">foo-1.0.tar.gz</a>\n' +
  '</body></html>\n')

for (const d of dialects()) {
  describe(`pull-through of paths ending in "/" (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('mirror', { dir: 'pypi/' })
      f.upstream.on('/pypi/simple/foo/', serveFile(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }))
    })
    after(async () => { await f?.cleanup() })

    it('fetches a PEP 503 project page from the upstream with its slash, then serves it as a cached metadata page', async () => {
      const first = await f.get('mirror/simple/foo/')
      assert.equal(first.status, 200)
      assert.equal(first.headers['x-pulp-cache'], 'MISS')
      assert.equal(first.headers['content-type'], 'text/html; charset=utf-8')
      assert.ok(first.body.equals(PAGE))
      assert.equal(f.upstream.hits('/pypi/simple/foo/'), 1)
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      // A page ending in "/" is metadata: kept with its validators, served while fresh (the
      // remote's metadata_ttl, 300 s by default) without asking the upstream again.
      await eventually(async () => (await f.get('mirror/simple/foo/')).headers['x-pulp-cache'] === 'HIT', 5000, 'the page cached')
      const hit = await f.get('mirror/simple/foo/')
      assert.equal(hit.status, 200)
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.equal(hit.headers['content-type'], 'text/html; charset=utf-8')
      assert.ok(hit.body.equals(PAGE))
      assert.equal(f.upstream.hits('/pypi/simple/foo/'), 1, 'fetched once within the TTL')
      assert.equal(await f.stored(PAGE), true, 'the cached page is an artifact of the store')
      assert.equal(f.upstream.hits('/pypi/simple/foo'), 0, 'never asked without its slash')
    })

    it('asks the upstream with the slash for HEAD and for a path ending in a dot segment too', async () => {
      f.upstream.on('/pypi/simple/bar/', serveFile(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }))
      const head = await f.get('mirror/simple/bar/', { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.body.length, 0)
      assert.equal(f.upstream.hits('/pypi/simple/bar/', 'HEAD'), 1)
      const dot = await f.get('mirror/simple/bar/.')
      assert.equal(dot.status, 200)
      assert.equal(dot.headers['x-pulp-cache'], 'MISS')
      assert.ok(dot.body.equals(PAGE))
      assert.equal(f.upstream.hits('/pypi/simple/bar/', 'GET'), 1)
      assert.equal(f.upstream.hits('/pypi/simple/bar'), 0, 'never asked without its slash')
    })

    it('answers the upstream\'s 404 for a page it does not have', async () => {
      const res = await f.get('mirror/simple/nothing-here/')
      assert.equal(res.status, 404)
      assert.equal(f.upstream.hits('/pypi/simple/nothing-here/'), 1)
    })

    it('leaves the listing to the static tree where the tree has the directory', async () => {
      const pub = await buildPublication(f.t.dataDir, '1', { 'simple/local/local-1.0.tar.gz': 'local' }, { repo: 'mirror', dist: 'web' })
      await publish(f.t.dataDir, 'http', 'mirror', pub)
      const listing = await f.get('mirror/simple/local/')
      assert.equal(listing.status, 200)
      assert.match(listing.body.toString(), /local-1\.0\.tar\.gz/)
      assert.equal(f.upstream.hits('/pypi/simple/local/'), 0)
      // Below the published tree's root, what it does not have still comes from the upstream.
      const page = await f.get('mirror/simple/foo/')
      assert.equal(page.status, 200)
      assert.ok(page.body.equals(PAGE))
    })
  })
}
