import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { NotFoundError, ValidationError } from '../../lib/errors'
import { displayPathOf, parseRequestPath, slashRedirectLocation, splitTarget } from '../../lib/http/paths'

describe('parseRequestPath', () => {
  const segments = (p: string): string[] => {
    const parsed = parseRequestPath(p)
    assert.ok(parsed.ok, `expected ${p} to parse`)
    return parsed.segments
  }
  const errorOf = (p: string): unknown => {
    const parsed = parseRequestPath(p)
    assert.ok(!parsed.ok, `expected ${p} to be refused`)
    return parsed.error
  }

  it('decodes each segment on its own', () => {
    assert.deepEqual(segments('/a%20b/c%3Fd/%E2%82%AC'), ['a b', 'c?d', '€'])
  })

  it('gives no segments for the root', () => {
    assert.deepEqual(segments('/'), [])
  })

  it('merges empty segments, as nginx does', () => {
    assert.deepEqual(segments('//a///b/'), ['a', 'b'])
  })

  it('reports the trailing slash', () => {
    const withSlash = parseRequestPath('/a/')
    const without = parseRequestPath('/a')
    assert.ok(withSlash.ok && without.ok)
    assert.equal(withSlash.trailingSlash, true)
    assert.equal(without.trailingSlash, false)
  })

  it('keeps dotfiles and names made of dots that are not . or ..', () => {
    assert.deepEqual(segments('/.treeinfo/.../a..b'), ['.treeinfo', '...', 'a..b'])
  })

  it('keeps a double-encoded escape as a literal name', () => {
    assert.deepEqual(segments('/%252e%252e'), ['%2e%2e'])
  })

  it('drops . segments, literal or encoded; one at the end counts as a trailing slash', () => {
    assert.deepEqual(parseRequestPath('/a/./b'), { ok: true, segments: ['a', 'b'], trailingSlash: false })
    assert.deepEqual(parseRequestPath('/flat/%2e/InRelease'), { ok: true, segments: ['flat', 'InRelease'], trailingSlash: false })
    assert.deepEqual(parseRequestPath('/%2E/a/./'), { ok: true, segments: ['a'], trailingSlash: true })
    assert.deepEqual(parseRequestPath('/a/.'), { ok: true, segments: ['a'], trailingSlash: true })
    assert.deepEqual(parseRequestPath('/a/%2e'), { ok: true, segments: ['a'], trailingSlash: true })
    assert.deepEqual(parseRequestPath('/.'), { ok: true, segments: [], trailingSlash: true })
    assert.deepEqual(parseRequestPath('/./.hidden'), { ok: true, segments: ['.hidden'], trailingSlash: false })
  })

  for (const p of ['/..', '/a/../b', '/%2e%2e', '/%2E.', '/./..', '/a/%2e/%2e%2e', '/.%2e', '/%2e%2fb', '/a%2fb', '/a%2Fb', '/a%5cb', '/a\\b', '/%00', '/a%00b', '/%', '/%zz', '/%c0%ae', '/%ed%a0%80', 'a', '']) {
    it(`refuses ${JSON.stringify(p)} as a ValidationError (400)`, () => {
      assert.ok(errorOf(p) instanceof ValidationError)
    })
  }

  it('treats names too long for the filesystem as not found (404)', () => {
    assert.ok(errorOf(`/${'a'.repeat(256)}`) instanceof NotFoundError)
    assert.ok(errorOf(`/${'é'.repeat(128)}`) instanceof NotFoundError)
    assert.deepEqual(segments(`/${'a'.repeat(255)}`), ['a'.repeat(255)])
    assert.ok(errorOf(`/${'abcdefgh/'.repeat(500)}`) instanceof NotFoundError)
  })
})

describe('parseRequestPath with scopedNames (npm\'s @scope%2fname)', () => {
  const scoped = (p: string): ReturnType<typeof parseRequestPath> => parseRequestPath(p, { scopedNames: true })

  it('splits the one segment in two and says where, %2f or %2F', () => {
    assert.deepEqual(scoped('/npm/@types%2fnode'), { ok: true, segments: ['npm', '@types', 'node'], trailingSlash: false, scopedName: 1 })
    assert.deepEqual(scoped('/npm/@Scope%2FName.js'), { ok: true, segments: ['npm', '@Scope', 'Name.js'], trailingSlash: false, scopedName: 1 })
    assert.deepEqual(scoped('/npm/@a-b%2fc~d_e/-/x.tgz'), { ok: true, segments: ['npm', '@a-b', 'c~d_e', '-', 'x.tgz'], trailingSlash: false, scopedName: 1 })
  })

  it('leaves paths without one as they were, with no scopedName', () => {
    assert.deepEqual(scoped('/npm/@types/node'), { ok: true, segments: ['npm', '@types', 'node'], trailingSlash: false })
    assert.deepEqual(scoped('/npm/left-pad'), { ok: true, segments: ['npm', 'left-pad'], trailingSlash: false })
  })

  it('is off by default: the static tree\'s parse refuses @scope%2fname', () => {
    const parsed = parseRequestPath('/npm/@types%2fnode')
    assert.ok(!parsed.ok && parsed.error instanceof ValidationError)
    assert.match(parsed.error.message, /encoded separators/)
  })

  for (const p of [
    '/@a%2fb%2fc', '/@a%2f..', '/@..%2fa', '/@.a%2fb', '/@a%2f_b', '/@%2fb', '/@a%2f', '/a%2fb', '/@a%5cb', '/@a%2f%2e%2e',
    '/@a%252fb%2fc', '/@a%2fb/@c%2fd', '/x@a%2fb', '/@a%2fb%00', '/@a b%2fc', '/@a%20b%2fc', '/@a%2fb%2f', '/@a/b%2fc'
  ]) {
    it(`still refuses ${JSON.stringify(p)} (400)`, () => {
      const parsed = scoped(p)
      assert.ok(!parsed.ok, `expected ${p} to be refused`)
      assert.ok(parsed.error instanceof ValidationError)
    })
  }

  it('counts the name towards the length limits (404 past them)', () => {
    const parsed = scoped(`/@${'a'.repeat(200)}%2f${'b'.repeat(60)}`)
    assert.ok(!parsed.ok && parsed.error instanceof NotFoundError)
  })
})

describe('slashRedirectLocation', () => {
  it('adds the slash and keeps the query', () => {
    assert.equal(slashRedirectLocation('/content/a?x=1&y=2'), '/content/a/?x=1&y=2')
  })

  it('collapses leading slashes and backslashes so the Location stays on this host', () => {
    assert.equal(slashRedirectLocation('//evil.example'), '/evil.example/')
    assert.equal(slashRedirectLocation('/\\evil.example?q'), '/evil.example/?q')
  })

  it('drops the scheme and host of an absolute-form target', () => {
    assert.equal(slashRedirectLocation('http://evil.example/a?b'), '/a/?b')
  })

  it('never answers //', () => {
    assert.equal(slashRedirectLocation(''), '/')
    assert.equal(slashRedirectLocation('not a url'), '/')
    assert.equal(slashRedirectLocation('\\\\evil.example'), '/')
  })
})

describe('splitTarget and displayPathOf', () => {
  it('splits at the first ?', () => {
    assert.deepEqual(splitTarget('/a?b?c'), { pathname: '/a', query: '?b?c' })
  })

  it('decodes for display and falls back to the raw path', () => {
    assert.equal(displayPathOf('/a%20b/?x'), '/a b/')
    assert.equal(displayPathOf('/a%zz/'), '/a%zz/')
  })
})
