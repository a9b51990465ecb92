import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, symlink } from 'node:fs/promises'
import path from 'node:path'
import { rawRequest } from '../support/content-http'
import { buildPublication, makeFixture, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

/** Each target must answer 400 or 404; `status` pins the one we mean to give. */
const TABLE: ReadonlyArray<{ target: string, status: 400 | 404, why: string }> = [
  { target: '/content/../secret.txt', status: 400, why: 'a raw dot-dot segment' },
  { target: '/content/repo/../../../secret.txt', status: 400, why: 'dot-dot segments deep enough to leave dataDir' },
  { target: '/content/repo/../../../../../../../../etc/passwd', status: 400, why: 'dot-dot to /etc/passwd' },
  { target: '/content/%2e%2e/secret.txt', status: 400, why: 'an encoded dot-dot' },
  { target: '/content/%2E%2E/%2E%2E/secret.txt', status: 400, why: 'an upper-case encoded dot-dot' },
  { target: '/content/.%2e/secret.txt', status: 400, why: 'a half-encoded dot-dot' },
  { target: '/content/..%2fsecret.txt', status: 400, why: 'an encoded slash after dot-dot' },
  { target: '/content/repo/..%2f..%2f..%2fsecret.txt', status: 400, why: 'a chain of encoded slashes' },
  { target: '/content/%2e%2e%2f%2e%2e%2fsecret.txt', status: 400, why: 'everything encoded' },
  { target: '/content/%2fetc%2fpasswd', status: 400, why: 'an encoded absolute path' },
  { target: '/content/%2e%2e%5csecret.txt', status: 400, why: 'an encoded backslash' },
  { target: '/content/repo/%5c..%5c..%5csecret.txt', status: 400, why: 'encoded backslash separators' },
  { target: '/content/repo\\..\\..\\secret.txt', status: 400, why: 'raw backslashes' },
  { target: '/content/C:%5cWindows%5cwin.ini', status: 400, why: 'a Windows path' },
  { target: '/content/repo/%00', status: 400, why: 'an encoded NUL' },
  { target: '/content/repo/ok.txt%00.png', status: 400, why: 'a NUL to cut an extension' },
  { target: '/content/repo/%', status: 400, why: 'a lone percent' },
  { target: '/content/repo/%zz', status: 400, why: 'a percent without hex digits' },
  { target: '/content/repo/%e0%a4%a', status: 400, why: 'a truncated escape' },
  { target: '/content/repo/%ff', status: 400, why: 'a byte that is not UTF-8' },
  { target: '/content/%c0%ae%c0%ae/secret.txt', status: 400, why: 'overlong UTF-8 dots' },
  { target: '/content/%c0%af', status: 400, why: 'an overlong UTF-8 slash' },
  { target: '/content/%u002e%u002e/secret.txt', status: 400, why: 'IIS-style %u escapes' },
  { target: '/content/repo/./../../secret.txt', status: 400, why: 'a dot segment then dot-dot' },
  { target: '/content/repo/%2e/%2e%2e/secret.txt', status: 400, why: 'an encoded dot segment then an encoded dot-dot' },
  { target: '/content/./%2E./secret.txt', status: 400, why: 'a dot segment then a half-encoded dot-dot' },
  { target: '/content/repo/./secret', status: 404, why: 'a dot segment before a planted link' },
  { target: '/content/repo/%2e%2fsecret', status: 400, why: 'a dot with an encoded slash' },
  { target: '/content/repo/ok.txt/../../secret.txt', status: 400, why: 'dot-dot after a file' },
  { target: '/content/%252e%252e/%252e%252e/secret.txt', status: 404, why: 'double-encoded dot-dot is a literal name' },
  { target: '/content/%252fetc%252fpasswd', status: 404, why: 'a double-encoded slash is a literal name' },
  { target: '/content//etc/passwd', status: 404, why: 'an absolute path after the mount' },
  { target: '/content///../secret.txt', status: 400, why: 'merged slashes then dot-dot' },
  { target: '/content/etc/passwd', status: 404, why: 'a system path inside the tree' },
  { target: '/content/repo/..;/secret.txt', status: 404, why: 'a Tomcat-style ..; segment is a literal name' },
  { target: '/content/repo/....//secret.txt', status: 404, why: 'four dots are a literal name' },
  { target: '/content/%ef%bc%8e%ef%bc%8e/secret.txt', status: 404, why: 'fullwidth dots are literal names' },
  { target: '/content/repo/passwd', status: 404, why: 'a planted link to /etc/passwd' },
  { target: '/content/repo/secret', status: 404, why: 'a planted link to the secret' },
  { target: '/content/repo/ok.txt/x', status: 404, why: 'a path through a file (ENOTDIR)' },
  { target: '/content/repo/loop/x', status: 404, why: 'a path through a loop (ELOOP)' },
  { target: `/content/repo/${'a'.repeat(300)}`, status: 404, why: 'a name longer than NAME_MAX' },
  { target: `/content/repo/${'%e2%82%ac'.repeat(90)}`, status: 404, why: 'a name of 270 UTF-8 bytes' },
  { target: `/content/${'a/'.repeat(2500)}x`, status: 404, why: 'a path longer than PATH_MAX' },
  { target: `/content/${'../'.repeat(2000)}secret.txt`, status: 400, why: 'a very long climb' },
  { target: 'http://127.0.0.1/content/%2e%2e/secret.txt', status: 400, why: 'an absolute-form target' }
]

describe('malicious paths', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let passwd = ''

  before(async () => {
    fx = await makeFixture()
    const pub = await buildPublication(fx.dataDir, '1', { 'ok.txt': 'fine' })
    await symlink('/etc/passwd', path.join(pub, 'passwd'))
    await symlink(fx.secretPath, path.join(pub, 'secret'))
    await symlink('loop', path.join(pub, 'loop'))
    await publish(fx.dataDir, 'http', 'repo', pub)
    srv = await startContentServer(fx.dataDir)
    passwd = await readFile('/etc/passwd', 'utf8').catch(() => '')
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  it('has at least 30 cases', () => {
    assert.ok(TABLE.length >= 30)
  })

  it('serves the ordinary file next to them, so the table tests the rules and not a broken tree', async () => {
    const res = await rawRequest(srv.port, '/content/repo/ok.txt')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'fine')
  })

  for (const { target, status, why } of TABLE) {
    const shown = target.length > 80 ? `${target.slice(0, 60)}... (${target.length} chars)` : target
    it(`answers ${status} for ${why}: ${shown}`, async () => {
      for (const method of ['GET', 'HEAD']) {
        const res = await rawRequest(srv.port, target, { method })
        assert.equal(res.status, status, `${method} ${shown}`)
        const text = res.body.toString('latin1')
        assert.ok(!text.includes(fx.secret), 'the secret leaked')
        assert.ok(passwd === '' || !text.includes(passwd.slice(0, 40)), '/etc/passwd leaked')
        assert.equal(res.headers.location, undefined)
      }
    })
  }

  // `.` segments were 400 before apt's flat repositories (`deb URL ./`) asked for
  // `URL/./InRelease`; now they are dropped, as nginx merges them.
  for (const target of ['/content/repo/./ok.txt', '/content/repo/%2e/ok.txt', '/content/./repo/%2E/./ok.txt']) {
    it(`drops the dot segments of ${target} and serves the file`, async () => {
      for (const method of ['GET', 'HEAD']) {
        const res = await rawRequest(srv.port, target, { method })
        assert.equal(res.status, 200, `${method} ${target}`)
        if (method === 'GET') assert.equal(res.body.toString(), 'fine')
      }
    })
  }

  it('never let any of them reach the error handler (no 500)', () => {
    assert.deepEqual(srv.errors, [])
  })

  it('answers JSON errors in the API\'s shape', async () => {
    const res = await rawRequest(srv.port, '/content/repo/%zz')
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    assert.deepEqual(JSON.parse(res.body.toString()), {
      error: { code: 'ERR_PULP_INVALID', message: 'malformed percent-encoding in the path' }
    })
  })
})
