import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'

const API = '/pulp/api/v1'

for (const d of dialects()) {
  describe(`remotes API (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    before(async () => { t = await startPulp({ dialect: d.name }) })
    after(async () => { await t?.cleanup() })

    it('creates a remote with defaults and shows header values as "***"', async () => {
      const res = await request(t.app).post(`${API}/remotes`)
        .send({ name: 'up', url: 'https://example.org/repo', headers: { Authorization: 'Bearer s3cret', 'X-Key': 'k' } })
      assert.equal(res.status, 201)
      assert.deepEqual(res.body.headers, { authorization: '***', 'x-key': '***' })
      assert.equal(res.body.remote_type_id, 'file')
      assert.equal(res.body.policy, 'on_demand')
      assert.equal(res.body.tls_validation, true)
      assert.equal(res.body.connect_timeout, null)
      assert.equal(res.body.total_timeout, null)
      assert.equal(res.body.negative_cache_ttl, 60)
      assert.equal(res.body.metadata_patterns, null)
      assert.equal(res.body.metadata_ttl, 300)
      assert.equal(res.body.stale_if_error, 86400)
      assert.equal(res.body.max_failures, 5)
      assert.equal(res.body.proxy_url, null)
      const read = await request(t.app).get(`${API}/remotes/up`).expect(200)
      assert.doesNotMatch(JSON.stringify(read.body), /s3cret/)
      const list = await request(t.app).get(`${API}/remotes`).expect(200)
      assert.doesNotMatch(JSON.stringify(list.body), /s3cret/)
      const programmatic = await t.pulp.remotes.get('up')
      assert.deepEqual(programmatic.headers, { authorization: '***', 'x-key': '***' })
      assert.doesNotMatch(JSON.stringify(await t.pulp.remotes.list()), /s3cret/)
    })

    it('masks the credentials of a proxy URL', async () => {
      const res = await request(t.app).post(`${API}/remotes`)
        .send({ name: 'proxied', url: 'http://example.org/', proxy_url: 'http://user:pa55@proxy.local:3128' })
      assert.equal(res.status, 201)
      assert.equal(res.body.proxy_url, 'http://user:***@proxy.local:3128/')
    })

    it('updates fields, keeps a header sent back as "***" and replaces the rest', async () => {
      await t.pulp.remotes.create({ name: 'upd', url: 'http://example.org/a/', headers: { authorization: 'keep-me', 'x-old': 'gone' } })
      const res = await request(t.app).patch(`${API}/remotes/upd`)
        .send({ headers: { authorization: '***', 'x-new': 'v' }, policy: 'streamed', total_timeout: 5, negative_cache_ttl: 0 })
      assert.equal(res.status, 200)
      assert.deepEqual(res.body.headers, { authorization: '***', 'x-new': '***' })
      assert.equal(res.body.policy, 'streamed')
      assert.equal(res.body.total_timeout, 5)
      assert.equal(res.body.negative_cache_ttl, 0)
      assert.equal(res.body.url, 'http://example.org/a/')
      const bad = await request(t.app).patch(`${API}/remotes/upd`).send({ headers: { 'x-unknown': '***' } })
      assert.equal(bad.status, 400)
    })

    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a missing url', { name: 'v1' }, /"url"/],
      ['an ftp url', { name: 'v2', url: 'ftp://example.org/' }, /"url" must be an http or https URL/],
      ['a url that is no URL', { name: 'v3', url: 'not a url' }, /"url" is not a valid URL/],
      ['credentials in the url', { name: 'v4', url: 'http://u:p@example.org/' }, /"url" may not carry credentials/],
      ['a bad name', { name: 'a b', url: 'http://example.org/' }, /"name"/],
      ['an unknown remote type', { name: 'v5', url: 'http://example.org/', remote_type_id: 'rpm' }, /"rpm" is not a registered remote type \(registered: file, deb, python\b[^)]*\)/],
      ['an unknown policy', { name: 'v6', url: 'http://example.org/', policy: 'immediate' }, /"policy"/],
      ['a zero total_timeout', { name: 'v7', url: 'http://example.org/', total_timeout: 0 }, /"total_timeout"/],
      ['a string connect_timeout', { name: 'v8', url: 'http://example.org/', connect_timeout: '5' }, /"connect_timeout"/],
      ['a negative negative_cache_ttl', { name: 'v9', url: 'http://example.org/', negative_cache_ttl: -1 }, /"negative_cache_ttl"/],
      ['headers that are no object', { name: 'v10', url: 'http://example.org/', headers: ['a'] }, /"headers"/],
      ['a header name with a space', { name: 'v11', url: 'http://example.org/', headers: { 'x y': '1' } }, /not a valid header name/],
      ['a header value with a newline', { name: 'v12', url: 'http://example.org/', headers: { 'x-y': 'a\r\nInjected: 1' } }, /control characters/],
      ['a number as a header value', { name: 'v13', url: 'http://example.org/', headers: { 'x-y': 1 } }, /must be a string/],
      ['a Host header', { name: 'v14', url: 'http://example.org/', headers: { Host: 'evil' } }, /"host" is set by pulp-middleware/],
      ['a Via header', { name: 'v15', url: 'http://example.org/', headers: { via: 'x' } }, /"via"/],
      ['a socks proxy', { name: 'v16', url: 'http://example.org/', proxy_url: 'socks5://p:1080' }, /"proxy_url"/],
      ['a non-boolean tls_validation', { name: 'v17', url: 'http://example.org/', tls_validation: 'no' }, /"tls_validation"/],
      ['an unknown field', { name: 'v18', url: 'http://example.org/', username: 'x' }, /"username"/],
      ['metadata_patterns that are no array', { name: 'v19', url: 'http://example.org/', metadata_patterns: 'dists/**' }, /"metadata_patterns"/],
      ['an absolute metadata pattern', { name: 'v20', url: 'http://example.org/', metadata_patterns: ['/etc/*'] }, /"metadata_patterns"/],
      ['a negative metadata_ttl', { name: 'v21', url: 'http://example.org/', metadata_ttl: -1 }, /"metadata_ttl"/],
      ['a null stale_if_error', { name: 'v22', url: 'http://example.org/', stale_if_error: null }, /"stale_if_error"/],
      ['a fractional max_failures', { name: 'v23', url: 'http://example.org/', max_failures: 1.5 }, /"max_failures"/],
      ['a zero max_failures', { name: 'v24', url: 'http://example.org/', max_failures: 0 }, /"max_failures"/]
    ]
    for (const [what, body, message] of invalid) {
      it(`answers 400 for ${what}`, async () => {
        const res = await request(t.app).post(`${API}/remotes`).send(body)
        assert.equal(res.status, 400)
        assert.equal(res.body.error.code, 'ERR_PULP_INVALID')
        assert.match(res.body.error.message, message)
      })
    }

    it('stores the freshness fields, and null patterns restore the type\'s default', async () => {
      const res = await request(t.app).post(`${API}/remotes`).send({
        name: 'fresh', url: 'http://example.org/', metadata_patterns: ['dists/**'], metadata_ttl: 10, stale_if_error: 0, max_failures: 2
      })
      assert.equal(res.status, 201)
      assert.deepEqual(res.body.metadata_patterns, ['dists/**'])
      assert.equal(res.body.metadata_ttl, 10)
      assert.equal(res.body.stale_if_error, 0)
      assert.equal(res.body.max_failures, 2)
      const reset = await request(t.app).patch(`${API}/remotes/fresh`).send({ metadata_patterns: null, metadata_ttl: 1.5 })
      assert.equal(reset.status, 200)
      assert.equal(reset.body.metadata_patterns, null)
      assert.equal(reset.body.metadata_ttl, 1.5)
      assert.equal(reset.body.max_failures, 2)
    })

    it('answers 409 for a duplicate name and 404 for an unknown one', async () => {
      await request(t.app).post(`${API}/remotes`).send({ name: 'twice', url: 'http://example.org/' }).expect(201)
      const dup = await request(t.app).post(`${API}/remotes`).send({ name: 'twice', url: 'http://example.org/' })
      assert.equal(dup.status, 409)
      assert.equal((await request(t.app).get(`${API}/remotes/nope`)).status, 404)
      assert.equal((await request(t.app).patch(`${API}/remotes/nope`).send({ policy: 'streamed' })).status, 404)
      assert.equal((await request(t.app).delete(`${API}/remotes/nope`)).status, 404)
    })

    it('refuses to delete a remote a distribution uses, naming it, and deletes it once free', async () => {
      await t.pulp.remotes.create({ name: 'used', url: 'http://example.org/' })
      await t.pulp.distributions.create({ name: 'user', basePath: 'user', remote: 'used' })
      const res = await request(t.app).delete(`${API}/remotes/used`)
      assert.equal(res.status, 409)
      assert.match(res.body.error.message, /distribution "user"/)
      await t.pulp.distributions.update('user', { remote: null })
      await request(t.app).delete(`${API}/remotes/used`).expect(204)
      assert.equal((await request(t.app).get(`${API}/remotes/used`)).status, 404)
    })

    it('accepts a registered custom remote type', async () => {
      const { FileRemote } = await import('../../lib')
      class CustomRemote extends FileRemote {
        static override metadata (): { id: string, displayName: string } { return { id: 'custom', displayName: 'Custom' } }
      }
      t.pulp.registry.registerRemoteType(CustomRemote)
      const res = await request(t.app).post(`${API}/remotes`).send({ name: 'cus', url: 'http://example.org/', remote_type_id: 'custom' })
      assert.equal(res.status, 201)
      assert.equal(res.body.remote_type_id, 'custom')
    })
  })
}
