import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { buildPublication, makeFixture, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

describe('http and https subtrees', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let untrusting: ContentServer

  before(async () => {
    fx = await makeFixture()
    const both = await buildPublication(fx.dataDir, '1', { 'both.txt': 'served on both' }, { repo: 'both' })
    const plain = await buildPublication(fx.dataDir, '1', { 'plain.txt': 'plain only' }, { repo: 'plain' })
    const secure = await buildPublication(fx.dataDir, '1', { 'secure.txt': 'secure only' }, { repo: 'secure' })
    await publish(fx.dataDir, 'http', 'both', both)
    await publish(fx.dataDir, 'https', 'both', both)
    await publish(fx.dataDir, 'http', 'plain', plain)
    await publish(fx.dataDir, 'https', 'nested/secure', secure)
    srv = await startContentServer(fx.dataDir, { before: (app) => app.set('trust proxy', true) })
    untrusting = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await untrusting.close()
    await fx.cleanup()
  })

  const viaHttps = (target: string): request.Test => request(srv.app).get(target).set('X-Forwarded-Proto', 'https')

  it('serves publish/http/ to a plain request', async () => {
    const res = await request(srv.app).get('/content/plain/plain.txt')
    assert.equal(res.status, 200)
    assert.equal(res.text, 'plain only')
  })

  it('serves publish/https/ to a secure request', async () => {
    const res = await viaHttps('/content/nested/secure/secure.txt')
    assert.equal(res.status, 200)
    assert.equal(res.text, 'secure only')
  })

  it('does not serve an https-only publication over http', async () => {
    const res = await request(srv.app).get('/content/nested/secure/secure.txt')
    assert.equal(res.status, 404)
  })

  it('does not serve an http-only publication over https', async () => {
    const res = await viaHttps('/content/plain/plain.txt')
    assert.equal(res.status, 404)
  })

  it('serves a publication on both when both subtrees link to it', async () => {
    assert.equal((await request(srv.app).get('/content/both/both.txt')).text, 'served on both')
    assert.equal((await viaHttps('/content/both/both.txt')).text, 'served on both')
  })

  it('lists each subtree on its own', async () => {
    const plain = await request(srv.app).get('/content/').set('Accept', 'application/json')
    assert.deepEqual(plain.body.entries.map((e: { name: string }) => e.name), ['both', 'plain'])
    const secure = await viaHttps('/content/').set('Accept', 'application/json')
    assert.deepEqual(secure.body.entries.map((e: { name: string }) => e.name), ['both', 'nested'])
  })

  it('ignores X-Forwarded-Proto unless the app trusts the proxy', async () => {
    const res = await request(untrusting.app).get('/content/nested/secure/secure.txt').set('X-Forwarded-Proto', 'https')
    assert.equal(res.status, 404)
  })
})
