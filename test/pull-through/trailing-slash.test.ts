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

    it('fetches a PEP 503 project page from the upstream with its slash, every time, saving nothing', async () => {
      for (let i = 1; i <= 2; i++) {
        const res = await f.get('mirror/simple/foo/')
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], 'MISS')
        assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
        assert.ok(res.body.equals(PAGE))
        assert.equal(f.upstream.hits('/pypi/simple/foo/'), i)
        await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      }
      assert.equal(await f.stored(PAGE), false, 'a page ending in "/" is never a content unit')
      assert.equal(f.upstream.hits('/pypi/simple/foo'), 0, 'never asked without its slash')
    })

    it('asks the upstream with the slash for a path ending in a dot segment too, and for HEAD', async () => {
      const before = f.upstream.hits('/pypi/simple/foo/')
      const dot = await f.get('mirror/simple/foo/.')
      assert.equal(dot.status, 200)
      assert.ok(dot.body.equals(PAGE))
      const head = await f.get('mirror/simple/foo/', { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.body.length, 0)
      assert.equal(f.upstream.hits('/pypi/simple/foo/'), before + 2)
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
