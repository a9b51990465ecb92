import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { symlink, writeFile } from 'node:fs/promises'
import fc from 'fast-check'
import { parseRequestPath, type ParsedPath } from '../../lib/http/paths'
import { rawRequest } from '../support/content-http'
import { buildPublication, makeFixture, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

// Properties of the content path parser and of the static tree behind it, over random paths
// built from the forms an attacker would try. They hold whether "." segments are refused or
// dropped: nothing outside the tree is ever resolved, and "..", encoded separators, NUL and
// malformed percent-encoding never succeed.

/** Pieces a path is built from: names, dot and slash forms, encodings (single, double, overlong UTF-8). */
const DOTS_AND_SLASHES = [
  '.', '..', '...', '%2e', '%2E', '.%2e', '%2e.', '%2e%2e', '%2E%2e', '%2E%2E', '%252e%252e', '%c0%ae', '%c0%ae%c0%ae',
  '%e0%80%ae', '%f0%80%80%ae', '%2f', '%2F', '%252f', '%c0%af', '%e0%80%af', '%5c', '%5C', '%255c', '%c1%9c',
  '%00', '%2500', '%', '%z', '%zz', '%e2%82', '%ff', '%u002e', '..;', '\\', '/', '//', ';', '~', 'a', 'repo',
  'ok.txt', 'secret.txt', 'data', 'publish', 'publications', 'artifacts', 'http', 'out', 'out-dir', 'sub', 'back'
]
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...DOTS_AND_SLASHES) },
  // Random bytes, percent-encoded: any UTF-8 or not.
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme-ascii' }) }
)
/** A pathname as the router gives it: "/" then pieces, some glued, some separated. */
const pathname = fc.array(fc.tuple(piece, fc.constantFrom('/', '/', '')), { maxLength: 10 })
  .map((parts) => '/' + parts.map(([p, sep]) => p + sep).join(''))
/** Pure-parser input: the same, plus raw bytes no HTTP client would send (NUL, controls, any Unicode). */
const anyPathname = fc.oneof(
  { weight: 4, arbitrary: pathname },
  { weight: 1, arbitrary: fc.tuple(pathname, fc.string({ maxLength: 8, unit: 'binary' }), pathname).map(([a, s, b]) => a + s + b) }
)

/**
 * What must hold of one parse: a success only for paths that have no way out (no "..", no
 * encoded separator or NUL, no malformed escape in any raw segment), and then segments that,
 * joined to any root, stay inside it and equal the decoded raw segments without "." ones.
 */
function check (input: string, parsed: ParsedPath): void {
  if (!parsed.ok) return
  const raws = input.split('/').filter((p) => p !== '')
  const decoded: string[] = []
  for (const raw of raws) {
    assert.ok(!raw.includes('\\'), `accepted a raw backslash: ${JSON.stringify(input)}`)
    let name: string
    try {
      name = decodeURIComponent(raw)
    } catch {
      assert.fail(`accepted malformed percent-encoding: ${JSON.stringify(input)}`)
    }
    assert.notEqual(name, '..', `accepted "..": ${JSON.stringify(input)}`)
    assert.ok(!/[/\\\0]/.test(name), `accepted an encoded separator or NUL: ${JSON.stringify(input)}`)
    if (name !== '.') decoded.push(name)
  }
  assert.deepEqual(parsed.segments, decoded, JSON.stringify(input))
  const root = path.join(path.sep, 'srv', 'tree')
  const joined = path.join(root, ...parsed.segments)
  assert.ok(joined === root || joined.startsWith(root + path.sep), `${JSON.stringify(input)} joins to ${joined}`)
  assert.equal(path.resolve(root, ...parsed.segments), joined)
}

describe('the content path parser, over random paths', () => {
  it('never resolves outside the tree, and never accepts "..", encoded separators, NUL or malformed escapes', () => {
    fc.assert(fc.property(anyPathname, (input) => { check(input, parseRequestPath(input)) }), { numRuns: 2000 })
  })

  it('holds as well for a parser that drops "." segments instead of refusing them', () => {
    const dropping = (input: string): ParsedPath => parseRequestPath(input.split('/')
      .filter((raw) => { try { return decodeURIComponent(raw) !== '.' } catch { return true } }).join('/') || '/')
    fc.assert(fc.property(anyPathname, (input) => { check(input, dropping(input)) }), { numRuns: 2000 })
  })

  it('finds a counterexample in a parser that only decodes (so the property can fail)', () => {
    const naive = (input: string): ParsedPath => {
      try {
        return { ok: true, segments: input.split('/').filter((p) => p !== '').map(decodeURIComponent), trailingSlash: input.endsWith('/') }
      } catch {
        return parseRequestPath('/%')
      }
    }
    const result = fc.check(fc.property(anyPathname, (input) => { check(input, naive(input)) }), { numRuns: 2000 })
    assert.equal(result.failed, true)
  })
})

describe('the static tree, over random request targets', () => {
  let fx: ContentFixture
  let srv: ContentServer

  before(async () => {
    fx = await makeFixture()
    const pub = await buildPublication(fx.dataDir, '1', { 'ok.txt': 'fine', 'sub/ok.txt': 'fine too' })
    // Ways out that only a link could give: the tree must refuse to follow them.
    await symlink(fx.secretPath, path.join(pub, 'out'))
    await symlink(path.dirname(fx.secretPath), path.join(pub, 'out-dir'))
    await symlink('../../../../../../secret.txt', path.join(pub, 'back'))
    await publish(fx.dataDir, 'http', 'repo', pub)
    await writeFile(path.join(fx.dataDir, 'publish', 'http', 'ok.txt'), 'plain')
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  it('serves the ordinary files, so the run tests the rules and not a broken tree', async () => {
    assert.equal((await rawRequest(srv.port, '/content/repo/sub/ok.txt')).body.toString(), 'fine too')
    assert.equal((await rawRequest(srv.port, '/content/ok.txt')).body.toString(), 'plain')
  })

  it('never sends a byte of the sentinel file outside the tree, and never fails', async () => {
    const statuses = new Set<number>()
    await fc.assert(fc.asyncProperty(pathname, fc.constantFrom('/content', '/content/repo'), async (tail, mount) => {
      // What an HTTP client can send: spaces, controls and non-ASCII go percent-encoded.
      const target = mount + tail.replace(/[^\x21-\x7e]|[#?]/gu, (c) => encodeURIComponent(c))
      const res = await rawRequest(srv.port, target)
      statuses.add(res.status)
      assert.ok(!res.body.toString('latin1').includes(fx.secret), `${target} served the sentinel`)
      assert.ok([200, 301, 400, 404].includes(res.status), `${target} answered ${res.status}`)
    }), { numRuns: 300 })
    assert.deepEqual(srv.errors, [])
    assert.ok(statuses.has(400) && statuses.has(404), `statuses seen: ${[...statuses].join(', ')}`)
  })
})
