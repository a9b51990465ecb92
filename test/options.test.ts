import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { resolveOptions, DEFAULTS } from '../lib/options'
import { pulpMiddleware } from '../lib'

describe('options', () => {
  it('fills every default when called with nothing', () => {
    const o = resolveOptions()
    assert.equal(o.dataDir, path.resolve('./pulp-data'))
    assert.equal(o.apiPath, '/api/v1')
    assert.equal(o.contentPath, '/content')
    assert.equal(o.maxUploadSize, 4 * 1024 ** 3)
    assert.deepEqual(o.runner, { concurrency: 2, closeTimeout: 10, pollInterval: 1, heartbeatInterval: 5, heartbeatTimeout: 30 })
    assert.equal(o.autoPublishDelay, 2)
    assert.equal(o.publicationGracePeriod, 300)
    assert.equal(o.indexes, true)
    assert.deepEqual(o.index, ['index.html'])
    assert.equal(o.cacheControl, DEFAULTS.cacheControl)
    assert.equal(o.accel, false)
    assert.ok(Object.isFrozen(o))
  })

  it('never mutates the caller\'s object', () => {
    const given = { dataDir: 'x', runner: { concurrency: 3 }, plugins: [] }
    const copy = structuredClone(given)
    const o = resolveOptions(given)
    assert.deepEqual(given, copy)
    assert.equal(o.runner && o.runner.concurrency, 3)
    assert.notEqual(o.plugins, given.plugins)
  })

  it('accepts apiPath false and trims a trailing slash from mount paths', () => {
    assert.equal(resolveOptions({ apiPath: false }).apiPath, false)
    assert.equal(resolveOptions({ contentPath: '/files/' }).contentPath, '/files')
  })

  it('takes index as false (none), one name or names in order', () => {
    assert.deepEqual(resolveOptions({ index: false }).index, [])
    assert.deepEqual(resolveOptions({ index: 'default.htm' }).index, ['default.htm'])
    assert.deepEqual(resolveOptions({ index: ['index.htm', 'index.html'] }).index, ['index.htm', 'index.html'])
    assert.ok(Object.isFrozen(resolveOptions({ index: ['a'] }).index))
  })

  it('takes accel as false or { header, prefix, minSize? }, with a 1 MiB default and a slash ending the prefix', () => {
    assert.equal(resolveOptions({ accel: false }).accel, false)
    assert.deepEqual(resolveOptions({ accel: { header: 'X-Accel-Redirect', prefix: '/_pulp_files' } }).accel,
      { header: 'x-accel-redirect', prefix: '/_pulp_files/', minSize: 1024 * 1024 })
    assert.deepEqual(resolveOptions({ accel: { header: 'X-Sendfile', prefix: '/srv/pulp-data/', minSize: 0 } }).accel,
      { header: 'x-sendfile', prefix: '/srv/pulp-data/', minSize: 0 })
  })

  it('takes contentOrigin as an http(s) origin, kept in its canonical spelling', () => {
    assert.equal(resolveOptions({}).contentOrigin, undefined)
    assert.equal(resolveOptions({ contentOrigin: 'https://Mirror.Example.com:443/' }).contentOrigin, 'https://mirror.example.com')
    assert.equal(resolveOptions({ contentOrigin: 'http://127.0.0.1:8080' }).contentOrigin, 'http://127.0.0.1:8080')
  })

  const bad: Array<[string, Record<string, unknown>]> = [
    ['contentOrigin', { contentOrigin: 'mirror.example.com' }],
    ['contentOrigin', { contentOrigin: 'ftp://mirror.example.com' }],
    ['contentOrigin', { contentOrigin: 'https://mirror.example.com/pulp' }],
    ['contentOrigin', { contentOrigin: 'https://mirror.example.com/?x' }],
    ['contentOrigin', { contentOrigin: 'https://user:pw@mirror.example.com' }],
    ['contentOrigin', { contentOrigin: 42 }],
    ['dataDir', { dataDir: '' }],
    ['dataDir', { dataDir: 42 }],
    ['database', { database: 'sqlite' }],
    ['database', { database: { connection: {} } }],
    ['apiPath', { apiPath: 'api' }],
    ['apiPath', { apiPath: '/a/../b' }],
    ['contentPath', { contentPath: true }],
    ['authorize', { authorize: 'yes' }],
    ['plugins', { plugins: {} }],
    ['plugins[0]', { plugins: [null] }],
    ['maxUploadSize', { maxUploadSize: -1 }],
    ['maxUploadSize', { maxUploadSize: 1.5 }],
    ['runner', { runner: 'fast' }],
    ['runner.concurrency', { runner: { concurrency: 0 } }],
    ['runner.closeTimeout', { runner: { closeTimeout: -5 } }],
    ['runner.speed', { runner: { speed: 1 } }],
    ['autoPublishDelay', { autoPublishDelay: Number.NaN }],
    ['publicationGracePeriod', { publicationGracePeriod: '300' }],
    ['indexes', { indexes: 'no' }],
    ['index', { index: true }],
    ['index', { index: [''] }],
    ['index', { index: ['a/index.html'] }],
    ['index', { index: ['..'] }],
    ['index', { index: ['x\\y'] }],
    ['index', { index: [42] }],
    ['cacheControl', { cacheControl: 'a\r\nSet-Cookie: x' }],
    ['accel', { accel: true }],
    ['accel', { accel: 'X-Accel-Redirect' }],
    ['accel.header', { accel: { header: 'X-Lighttpd-Send-File', prefix: '/p/' } }],
    ['accel.header', { accel: { prefix: '/p/' } }],
    ['accel.prefix', { accel: { header: 'X-Accel-Redirect' } }],
    ['accel.prefix', { accel: { header: 'X-Accel-Redirect', prefix: 'files/' } }],
    ['accel.prefix', { accel: { header: 'X-Accel-Redirect', prefix: '/a/../b/' } }],
    ['accel.prefix', { accel: { header: 'X-Accel-Redirect', prefix: '/p?x=1' } }],
    ['accel.prefix', { accel: { header: 'X-Sendfile', prefix: '/p\r\nSet-Cookie: x' } }],
    ['accel.minSize', { accel: { header: 'X-Sendfile', prefix: '/p/', minSize: -1 } }],
    ['accel.minSize', { accel: { header: 'X-Sendfile', prefix: '/p/', minSize: 0.5 } }],
    ['accel.size', { accel: { header: 'X-Sendfile', prefix: '/p/', size: 1 } }],
    ['dataDirectory', { dataDirectory: '/tmp' }]
  ]
  for (const [name, given] of bad) {
    it(`throws a TypeError naming "${name}" for ${JSON.stringify(given)}`, () => {
      assert.throws(() => pulpMiddleware(given as never), (err: unknown) => {
        assert.ok(err instanceof TypeError)
        assert.match(err.message, new RegExp(`"${name.replace(/[[\]]/g, '\\$&')}"`))
        return true
      })
    })
  }
})
