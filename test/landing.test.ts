import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import express from 'express'
import request from 'supertest'
import { pulpMiddleware } from '../lib'
import { version } from '../lib/version'
import { startPulp, tempDir, type TestPulp } from './support/pulp'

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

describe('the mount point\'s landing page', () => {
  let t: TestPulp
  before(async () => { t = await startPulp() })
  after(async () => { await t?.cleanup() })

  it('answers JSON to curl (Accept: */*) with links that answer', async () => {
    for (const target of ['/pulp', '/pulp/']) {
      const res = await request(t.app).get(target).set('Accept', '*/*')
      assert.equal(res.status, 200, target)
      assert.match(res.headers['content-type'], /^application\/json/)
      assert.equal(res.headers.vary, 'Accept')
      assert.deepEqual(res.body, {
        name: 'pulp-middleware',
        version,
        links: { status: '/pulp/api/v1/status', openapi: '/pulp/api/v1/openapi.json', content: '/pulp/content/' }
      })
    }
    const { links } = (await request(t.app).get('/pulp')).body as { links: Record<string, string> }
    assert.equal((await request(t.app).get(links.status)).body.database.reachable, true)
    assert.match((await request(t.app).get(links.openapi)).body.openapi, /^3\./)
    const content = await request(t.app).get(links.content).set('Accept', 'application/json')
    assert.equal(content.status, 200, 'the content root lists (empty) before anything is published')
    assert.deepEqual(content.body.entries, [])
  })

  it('answers HTML to a browser, linking the same places', async () => {
    const res = await request(t.app).get('/pulp/').set('Accept', BROWSER)
    assert.equal(res.status, 200)
    assert.match(res.headers['content-type'], /^text\/html/)
    assert.match(res.text, new RegExp(`<title>pulp-middleware ${version.replace(/\./g, '\\.')}</title>`))
    const hrefs = [...res.text.matchAll(/href="([^"]+)"/g)].map((m) => m[1])
    assert.deepEqual(hrefs, ['/pulp/api/v1/status', '/pulp/api/v1/openapi.json', '/pulp/content/'])
    const head = await request(t.app).head('/pulp').set('Accept', BROWSER)
    assert.equal(head.status, 200)
    assert.equal(head.text, undefined)
  })

  it('leaves the mount point to the content when contentPath is "/", and omits API links without an API', async () => {
    const dir = await tempDir()
    const contentAtRoot = pulpMiddleware({ dataDir: dir, contentPath: '/', runner: false })
    const noApi = pulpMiddleware({ dataDir: dir, apiPath: false, contentPath: '/files', runner: false })
    try {
      const app = express()
      app.use('/a', contentAtRoot)
      app.use('/b', noApi)
      await contentAtRoot.ready
      await noApi.ready
      const listing = await request(app).get('/a/').set('Accept', 'application/json')
      assert.equal(listing.status, 200)
      assert.deepEqual(listing.body, { path: '/a/', entries: [] })
      const landing = await request(app).get('/b')
      assert.deepEqual(landing.body.links, { status: null, openapi: null, content: '/b/files/' })
    } finally {
      await contentAtRoot.close()
      await noApi.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
