import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeProjectName, projectOf } from '../../lib/plugins/python/names'
import { pageVariant } from '../../lib/plugins/python/negotiate'
import { bindingsOf, parseHtmlPage, parseJsonPage, renderHtmlPage, renderJsonPage } from '../../lib/plugins/python/page'

const HEX = 'ab'.repeat(32)

describe('python project names (PEP 503)', () => {
  it('normalizes runs of -, _ and . and the case', () => {
    assert.equal(normalizeProjectName('Foo__Bar.baz-_Qux'), 'foo-bar-baz-qux')
    assert.equal(projectOf('Django'), 'django')
  })

  it('refuses what is no project name', () => {
    for (const bad of ['', '-x', 'x-', 'a b', 'http:', '..', 'a%2Fb']) assert.equal(projectOf(bad), null, bad)
  })
})

describe('python page variant from Accept', () => {
  it('follows the q-values, HTML on a tie or without Accept', () => {
    assert.equal(pageVariant('application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01'), 'json')
    assert.equal(pageVariant('application/vnd.pypi.simple.v1+json;q=0.2, text/html'), 'html')
    assert.equal(pageVariant(undefined), 'html')
    assert.equal(pageVariant('*/*'), 'html')
    assert.equal(pageVariant('application/vnd.pypi.simple.latest+json'), 'json')
  })
})

describe('python pages', () => {
  const html = `<!DOCTYPE html><html><head><base href="https://files.example/packages/"></head><body>
    <a href="a/pkg-1.0.tar.gz#sha256=${HEX}" data-requires-python="&gt;=3.8">pkg-1.0.tar.gz</a>
    <A HREF='https://other.example/pkg-1.1-py3-none-any.whl#md5=0123' data-yanked="" data-dist-info-metadata="sha256=${HEX}">x</A>
    <a href="mailto:x@y">not a file</a>
    <a href="../evil/..%2F..%2Fetc">bad</a>
  </body></html>`

  it('parses anchors against <base>, with fragments and data attributes', () => {
    const page = parseHtmlPage(html, 'https://index.example/simple/pkg/')
    assert.equal(page.files.length, 2)
    const [sdist, wheel] = page.files
    assert.equal(sdist.url, 'https://files.example/packages/a/pkg-1.0.tar.gz')
    assert.deepEqual(sdist.hashes, { sha256: HEX })
    assert.equal(sdist.requiresPython, '>=3.8')
    assert.equal(wheel.filename, 'pkg-1.1-py3-none-any.whl')
    assert.equal(wheel.yanked, true)
    assert.deepEqual(wheel.coreMetadata, { sha256: HEX })
  })

  it('binds each file and its .metadata, with the digests we can check', () => {
    const bindings = bindingsOf('pkg', parseHtmlPage(html, 'https://index.example/simple/pkg/'))
    assert.deepEqual(bindings, [
      { relativePath: 'pkg/pkg-1.0.tar.gz', url: 'https://files.example/packages/a/pkg-1.0.tar.gz', digest: { algorithm: 'sha256', hex: HEX } },
      { relativePath: 'pkg/pkg-1.1-py3-none-any.whl', url: 'https://other.example/pkg-1.1-py3-none-any.whl', digest: undefined },
      { relativePath: 'pkg/pkg-1.1-py3-none-any.whl.metadata', url: 'https://other.example/pkg-1.1-py3-none-any.whl.metadata', digest: { algorithm: 'sha256', hex: HEX } }
    ])
  })

  it('renders HTML with relative links, the fragment kept, attributes escaped', () => {
    const out = renderHtmlPage('pkg', parseHtmlPage(html, 'https://index.example/simple/pkg/'))
    assert.ok(out.includes(`<a href="../pkg/pkg-1.0.tar.gz#sha256=${HEX}" data-requires-python="&#62;=3.8">pkg-1.0.tar.gz</a>`), out)
    assert.ok(out.includes('href="../pkg/pkg-1.1-py3-none-any.whl#md5=0123"'))
    assert.ok(out.includes('data-yanked=""'))
    assert.ok(!out.includes('example'))
  })

  it('makes PEP 691 JSON from an HTML page, and keeps a JSON page whole but its URLs', () => {
    const fromHtml = JSON.parse(renderJsonPage('pkg', parseHtmlPage(html, 'https://index.example/simple/pkg/'))) as { meta: unknown, files: Array<Record<string, unknown>> }
    assert.deepEqual(fromHtml.meta, { 'api-version': '1.0' })
    assert.deepEqual(fromHtml.files[0], { filename: 'pkg-1.0.tar.gz', url: '../pkg/pkg-1.0.tar.gz', hashes: { sha256: HEX }, 'requires-python': '>=3.8', yanked: false })
    const upstream = { meta: { 'api-version': '1.1' }, name: 'pkg', versions: ['1.0'], files: [{ filename: 'pkg-1.0.tar.gz', url: '/f/pkg-1.0.tar.gz', hashes: { sha256: HEX }, size: 10, 'upload-time': 't' }] }
    const kept = JSON.parse(renderJsonPage('pkg', parseJsonPage(JSON.stringify(upstream), 'https://index.example/simple/pkg/'))) as typeof upstream
    assert.deepEqual(kept, { ...upstream, files: [{ ...upstream.files[0], url: '../pkg/pkg-1.0.tar.gz' }] })
    assert.throws(() => parseJsonPage('{"name":"x"}', 'https://index.example/'), /files/)
  })
})
