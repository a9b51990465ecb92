import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { buildPublication, makeFixture, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

describe('conditional requests', () => {
  let fx: ContentFixture
  let srv: ContentServer
  const body = 'conditional body\n'
  const etag = `"${sha256(body)}"`
  let lastModified: string
  let manifestEtag: string

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'repo', await buildPublication(fx.dataDir, '1', { 'c.txt': body }))
    srv = await startContentServer(fx.dataDir)
    const first = await request(srv.app).get('/content/repo/c.txt')
    lastModified = first.headers['last-modified']
    manifestEtag = (await request(srv.app).head('/content/repo/PULP_MANIFEST')).headers.etag
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  const get = (headers: Record<string, string>): request.Test => {
    const req = request(srv.app).get('/content/repo/c.txt')
    for (const [k, v] of Object.entries(headers)) req.set(k, v)
    return req
  }
  const later = (date: string, seconds: number): string => new Date(Date.parse(date) + seconds * 1000).toUTCString()

  describe('If-None-Match', () => {
    it('answers 304 with the validators and no body when the ETag matches', async () => {
      const res = await get({ 'If-None-Match': etag })
      assert.equal(res.status, 304)
      assert.equal(res.headers.etag, etag)
      assert.equal(res.headers['last-modified'], lastModified)
      assert.equal(res.headers['cache-control'], 'public, max-age=0, must-revalidate')
      assert.equal(res.headers['content-length'], undefined)
      assert.equal(res.text, '')
    })

    it('answers 304 when one ETag of a list matches, weakly compared', async () => {
      const res = await get({ 'If-None-Match': `"nope", W/${etag}` })
      assert.equal(res.status, 304)
    })

    it('answers 304 for *', async () => {
      const res = await get({ 'If-None-Match': '*' })
      assert.equal(res.status, 304)
    })

    it('answers 200 when no ETag matches', async () => {
      const res = await get({ 'If-None-Match': '"0000"' })
      assert.equal(res.status, 200)
      assert.equal(res.text, body)
    })

    it('takes precedence over If-Modified-Since', async () => {
      const res = await get({ 'If-None-Match': '"0000"', 'If-Modified-Since': later(lastModified, 60) })
      assert.equal(res.status, 200)
    })

    it('answers 304 on HEAD as well', async () => {
      const res = await request(srv.app).head('/content/repo/c.txt').set('If-None-Match', etag)
      assert.equal(res.status, 304)
    })
  })

  describe('If-Modified-Since', () => {
    it('answers 304 for the Last-Modified date itself', async () => {
      const res = await get({ 'If-Modified-Since': lastModified })
      assert.equal(res.status, 304)
    })

    it('answers 304 for a later date', async () => {
      const res = await get({ 'If-Modified-Since': later(lastModified, 3600) })
      assert.equal(res.status, 304)
    })

    it('answers 200 for an earlier date', async () => {
      const res = await get({ 'If-Modified-Since': later(lastModified, -1) })
      assert.equal(res.status, 200)
      assert.equal(res.text, body)
    })

    it('answers 200 for a date that does not parse', async () => {
      const res = await get({ 'If-Modified-Since': 'yesterday-ish' })
      assert.equal(res.status, 200)
    })
  })

  describe('If-Match', () => {
    it('answers 412 when no ETag matches', async () => {
      const res = await get({ 'If-Match': '"0000"' })
      assert.equal(res.status, 412)
      assert.equal(res.headers['content-length'], '0')
    })

    it('answers 200 when the strong ETag matches', async () => {
      const res = await get({ 'If-Match': `"x", ${etag}` })
      assert.equal(res.status, 200)
      assert.equal(res.text, body)
    })

    it('answers 200 for *', async () => {
      const res = await get({ 'If-Match': '*' })
      assert.equal(res.status, 200)
    })

    it('answers 412 for a weak ETag, which never matches strongly', async () => {
      const res = await get({ 'If-Match': `W/${etag}` })
      assert.equal(res.status, 412)
      const manifest = await request(srv.app).get('/content/repo/PULP_MANIFEST').set('If-Match', manifestEtag)
      assert.equal(manifest.status, 412)
    })

    it('wins over a matching If-None-Match: 412 before 304', async () => {
      const res = await get({ 'If-Match': '"0000"', 'If-None-Match': etag })
      assert.equal(res.status, 412)
    })

    it('makes If-Unmodified-Since ignored when present', async () => {
      const res = await get({ 'If-Match': etag, 'If-Unmodified-Since': later(lastModified, -3600) })
      assert.equal(res.status, 200)
    })
  })

  describe('If-Unmodified-Since', () => {
    it('answers 412 when the file changed after the date', async () => {
      const res = await get({ 'If-Unmodified-Since': later(lastModified, -1) })
      assert.equal(res.status, 412)
    })

    it('answers 200 for the Last-Modified date itself', async () => {
      const res = await get({ 'If-Unmodified-Since': lastModified })
      assert.equal(res.status, 200)
    })

    it('is ignored when the date does not parse', async () => {
      const res = await get({ 'If-Unmodified-Since': 'not a date' })
      assert.equal(res.status, 200)
    })
  })
})
