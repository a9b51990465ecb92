import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { dialects } from '../support/databases'
import { serveFile, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const API = '/pulp/api/v1'

// Credentials in a remote's url or proxy_url (userinfo, and query parameter values such as a
// signed URL's token) are never shown back: not when the remote is read, not in a 400.
for (const d of dialects()) {
  describe(`remote URL secrets are never shown back (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => { f = await startPullThrough({ dialect: d.name }) })
    after(async () => { await f?.cleanup() })

    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a url with a password that does not parse', { url: 'http://user:hunter2@exa mple.org:99999/' }, /"url" is not a valid URL: "http:\/\/user:\*\*\*@exa mple\.org:99999\/"/],
      ['a url with a token in its query that does not parse', { url: 'http://[bad/repo?token=hunter2&x=hunter2' }, /"url" is not a valid URL: "http:\/\/\[bad\/repo\?token=\*\*\*&x=\*\*\*"/],
      ['a proxy_url with a password that does not parse', { url: 'http://example.org/', proxy_url: 'http://puser:hunter2@[proxy' }, /"proxy_url" is not a valid URL: "http:\/\/puser:\*\*\*@\[proxy"/],
      ['a proxy_url with a lone token as user that does not parse', { url: 'http://example.org/', proxy_url: 'http://hunter2@pro xy:3128' }, /"proxy_url" is not a valid URL: "http:\/\/\*\*\*@pro xy:3128"/]
    ]
    for (const [what, body, message] of invalid) {
      it(`answers 400 without the secret for ${what}`, async () => {
        const res = await request(f.t.app).post(`${API}/remotes`).send({ name: 'bad', ...body })
        assert.equal(res.status, 400)
        assert.doesNotMatch(res.text, /hunter2/)
        assert.match(res.body.error.message, message)
        const update = await request(f.t.app).post(`${API}/remotes`).send({ name: 'good', url: 'http://example.org/' })
        assert.ok(update.status === 201 || update.status === 409)
        const patched = await request(f.t.app).patch(`${API}/remotes/good`).send(body)
        assert.equal(patched.status, 400)
        assert.doesNotMatch(patched.text, /hunter2/)
      })
    }

    it('masks query values and userinfo in every read: list, one, programmatic', async () => {
      const res = await request(f.t.app).post(`${API}/remotes`).send({
        name: 'signed',
        url: 'https://cdn.example.org/repo/?token=s3cr3t&expires=123',
        proxy_url: 'http://puser:pw55@proxy.local:3128/?auth=s3cr3t'
      })
      assert.equal(res.status, 201)
      assert.equal(res.body.url, 'https://cdn.example.org/repo/?token=***&expires=***')
      assert.equal(res.body.proxy_url, 'http://puser:***@proxy.local:3128/?auth=***')
      const one = await request(f.t.app).get(`${API}/remotes/signed`).expect(200)
      const list = await request(f.t.app).get(`${API}/remotes`).expect(200)
      for (const text of [res.text, one.text, list.text, JSON.stringify(await f.t.pulp.remotes.get('signed')), JSON.stringify(await f.t.pulp.remotes.list())]) {
        assert.doesNotMatch(text, /s3cr3t|pw55/)
      }
      assert.equal(one.body.url, 'https://cdn.example.org/repo/?token=***&expires=***')
      // A URL without secrets reads back exactly as it was given.
      await request(f.t.app).post(`${API}/remotes`).send({ name: 'plain', url: 'http://example.org/a' }).expect(201)
      assert.equal((await request(f.t.app).get(`${API}/remotes/plain`)).body.url, 'http://example.org/a')
    })

    it('keeps the stored URL when a client writes back the masked one it read', async () => {
      const body = testBytes(1000)
      const queries: string[] = []
      f.upstream.on('/files/kept.bin', async (req, res) => {
        queries.push(new URL(req.url ?? '/', 'http://x').search)
        await serveFile(body)(req, res)
      })
      const { remote } = await f.wire('kept', { url: `${f.upstream.url('files/')}?token=s3cr3t` })
      const read = await request(f.t.app).get(`${API}/remotes/${remote}`).expect(200)
      assert.match(read.body.url, /\?token=\*\*\*$/)
      // Sent back whole, as a client that edits one field of what it read would.
      const patched = await request(f.t.app).patch(`${API}/remotes/${remote}`).send({ url: read.body.url, policy: 'streamed' })
      assert.equal(patched.status, 200)
      assert.equal(patched.body.url, read.body.url)
      const got = await f.get('kept/kept.bin')
      assert.equal(got.status, 200)
      assert.deepEqual(queries, ['?token=s3cr3t'])
      // A new token is taken as given.
      await request(f.t.app).patch(`${API}/remotes/${remote}`).send({ url: `${f.upstream.url('files/')}?token=n3w` }).expect(200)
      await f.get('kept/kept.bin')
      assert.deepEqual(queries, ['?token=s3cr3t', '?token=n3w'])
    })
  })
}
