import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import request from 'supertest'
import { rawRequest } from '../support/content-http'
import { buildPublication, makeFixture, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

const nasty = '<script>&".txt'

describe('directories', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let rootMounted: ContentServer
  let noIndexes: ContentServer

  before(async () => {
    fx = await makeFixture()
    const pub = await buildPublication(fx.dataDir, '1', {
      'b-file.txt': 'bbb',
      'a-file.txt': 'a',
      [nasty]: 'x',
      'with space.txt': 'space',
      'zz/inner.txt': 'inner',
      'aa/inner.txt': 'inner'
    })
    await utimes(path.join(fx.dataDir, 'publications/repo/web/1/PULP_MANIFEST'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'))
    await publish(fx.dataDir, 'http', 'repo', pub)
    // A directory named like a host, to try the mount-at-root open redirect.
    await mkdir(path.join(pub, 'evil.example'))
    await writeFile(path.join(pub, 'evil.example', 'x.txt'), 'x')
    await publish(fx.dataDir, 'http', 'evil.example', pub)
    srv = await startContentServer(fx.dataDir)
    rootMounted = await startContentServer(fx.dataDir, { mount: '/' })
    noIndexes = await startContentServer(fx.dataDir, { indexes: false })
  })
  after(async () => {
    await srv.close()
    await rootMounted.close()
    await noIndexes.close()
    await fx.cleanup()
  })

  describe('without a trailing slash', () => {
    it('redirects 301 to the same path with a slash, query kept', async () => {
      const res = await rawRequest(srv.port, '/content/repo/zz?x=1&y=%2F')
      assert.equal(res.status, 301)
      assert.equal(res.headers.location, '/content/repo/zz/?x=1&y=%2F')
    })

    it('redirects the mount point itself', async () => {
      const res = await rawRequest(srv.port, '/content?a=b')
      assert.equal(res.status, 301)
      assert.equal(res.headers.location, '/content/?a=b')
    })

    it('redirects a HEAD request the same way', async () => {
      const res = await rawRequest(srv.port, '/content/repo', { method: 'HEAD' })
      assert.equal(res.status, 301)
      assert.equal(res.headers.location, '/content/repo/')
    })

    it('redirects even when listings are off', async () => {
      const res = await rawRequest(noIndexes.port, '/content/repo')
      assert.equal(res.status, 301)
    })

    for (const target of ['//evil.example', '///evil.example', '//evil.example?next=1', '/%2fevil.example', '/\\evil.example', '/%5cevil.example']) {
      it(`never redirects off-site for ${target} (mounted at /)`, async () => {
        const res = await rawRequest(rootMounted.port, target)
        assert.ok([301, 400, 404].includes(res.status), `status ${res.status}`)
        const location = res.headers.location ?? ''
        assert.ok(!location.startsWith('//') && !location.startsWith('/\\'), `Location: ${location}`)
        if (res.status === 301) assert.match(location, /^\/evil\.example\/(\?next=1)?$/)
      })
    }

    it('keeps an absolute-form request target on this server', async () => {
      const res = await rawRequest(srv.port, 'http://evil.example/content/repo/zz')
      assert.equal(res.status, 301)
      assert.equal(res.headers.location, '/content/repo/zz/')
    })
  })

  describe('HTML listing', () => {
    it('has the title and heading "Index of <path>" and a parent link', async () => {
      const res = await request(srv.app).get('/content/repo/').set('Accept', 'text/html')
      assert.equal(res.status, 200)
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
      assert.equal(res.headers.vary, 'Accept')
      assert.match(res.text, /<title>Index of \/content\/repo\/<\/title>/)
      assert.match(res.text, /<h1>Index of \/content\/repo\/<\/h1>/)
      assert.match(res.text, /<a href="\.\.\/">\.\.\/<\/a>/)
    })

    it('has no parent link at the root of the tree', async () => {
      const res = await request(srv.app).get('/content/')
      assert.equal(res.status, 200)
      assert.doesNotMatch(res.text, /href="\.\.\/"/)
      assert.match(res.text, /href="repo\/"/)
    })

    it('lists directories first, then files, each by name', async () => {
      const res = await request(srv.app).get('/content/repo/')
      const names = [...res.text.matchAll(/<a href="([^"]+)">/g)].map((m) => m[1])
      assert.deepEqual(names, [
        '../', 'aa/', 'evil.example/', 'zz/',
        '%3Cscript%3E%26%22.txt', 'PULP_MANIFEST', 'a-file.txt', 'b-file.txt', 'with%20space.txt'
      ])
    })

    it('escapes names in the text and percent-encodes them in hrefs', async () => {
      const res = await request(srv.app).get('/content/repo/')
      assert.ok(!res.text.includes('<script>'), 'raw <script> in the page')
      assert.match(res.text, /<a href="%3Cscript%3E%26%22\.txt">&lt;script&gt;&amp;&quot;\.txt<\/a>/)
      assert.equal(res.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'")
    })

    it('shows sizes and ISO dates', async () => {
      const res = await request(srv.app).get('/content/repo/')
      assert.match(res.text, /<a href="b-file\.txt">b-file\.txt<\/a><\/td><td class="size">3<\/td>/)
      assert.match(res.text, /<time datetime="2020-01-02T03:04:05\.000Z">2020-01-02T03:04:05\.000Z<\/time>/)
    })

    it('answers HEAD with the headers and no body', async () => {
      const get = await rawRequest(srv.port, '/content/repo/')
      const head = await rawRequest(srv.port, '/content/repo/', { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.headers['content-length'], get.headers['content-length'])
      assert.equal(head.body.length, 0)
    })

    it('lets a served file with the escaped name be fetched through its href', async () => {
      const res = await rawRequest(srv.port, '/content/repo/%3Cscript%3E%26%22.txt')
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), 'x')
    })
  })

  describe('JSON listing', () => {
    it('answers JSON when the client prefers application/json', async () => {
      const res = await request(srv.app).get('/content/repo/').set('Accept', 'application/json')
      assert.equal(res.status, 200)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(res.body.path, '/content/repo/')
      const manifest = res.body.entries.find((e: { name: string }) => e.name === 'PULP_MANIFEST')
      assert.deepEqual(manifest, { name: 'PULP_MANIFEST', type: 'file', size: manifest.size, modified: '2020-01-02T03:04:05.000Z' })
      type Entry = { name: string, type: string, size: number | null }
      assert.deepEqual(res.body.entries.slice(0, 3).map((e: Entry) => [e.name, e.type, e.size]), [
        ['aa', 'directory', null], ['evil.example', 'directory', null], ['zz', 'directory', null]
      ])
      assert.ok(res.body.entries.some((e: { name: string }) => e.name === nasty))
    })

    it('answers HTML when HTML is preferred over JSON', async () => {
      const res = await request(srv.app).get('/content/repo/').set('Accept', 'application/json;q=0.5, text/html')
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
    })
  })

  describe('indexes: false', () => {
    it('answers 404 for a directory', async () => {
      const res = await request(noIndexes.app).get('/content/repo/')
      assert.equal(res.status, 404)
      assert.equal(res.body.error.code, 'ERR_PULP_NOT_FOUND')
    })

    it('still serves files', async () => {
      const res = await request(noIndexes.app).get('/content/repo/a-file.txt')
      assert.equal(res.status, 200)
    })
  })
})
