import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  FileRemote, type RewriteContext, type RewrittenMetadata, type TypeMetadata, type UpstreamContext, type UpstreamTarget
} from '../../lib'
import { captureLogger } from '../support/capture-logger'
import { dialects } from '../support/databases'
import { serveFile, testBytes } from '../support/upstream-faults'
import { UpstreamServer } from '../support/upstream-server'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/**
 * A third-party type written with the public hooks only: a page `<project>/` lists
 * `<file> <absolute url> <sha256>` lines (files on another host); a file asked before its
 * page has the page learnt first (`ensureMetadata`). Pages have two variants, by Accept; for
 * bindings alone the type asks for `short`. Paths under `misuse/` break the hook's rules.
 */
class ColdLinkedRemote extends FileRemote {
  static override metadata (): TypeMetadata { return { id: 'cold-linked', displayName: 'Linked pages, learnt on demand' } }
  /** The `forBindings` flag of each page target asked, in order. */
  static readonly asked: boolean[] = []

  override async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    const url = this.getRemoteArtifactUrl(relativePath)
    if (relativePath.endsWith('/')) {
      ColdLinkedRemote.asked.push(context.forBindings === true)
      // A page target that itself wants another page: refused.
      if (relativePath === 'misuse/chain/') await context.ensureMetadata('pkg/')
      if (context.forBindings === true) return { url, variant: 'short', accept: 'text/x-short' }
      return { url, variant: 'long', accept: 'text/plain' }
    }
    const bound = await context.readBinding(relativePath)
    if (bound !== null) return bound
    if (relativePath === 'misuse/twice') {
      await context.ensureMetadata('a/')
      await context.ensureMetadata('b/')
    }
    if (relativePath === 'misuse/file') await context.ensureMetadata('pkg/good.bin')
    await context.ensureMetadata(relativePath.slice(0, relativePath.lastIndexOf('/') + 1))
    return await context.readBinding(relativePath)
  }

  override rewriteMetadata (relativePath: string, body: Buffer, context: RewriteContext): RewrittenMetadata {
    const bindings: RewrittenMetadata['bindings'] = []
    const lines = body.toString().split('\n').filter((l) => l !== '').map((line) => {
      const [file, link, hex] = line.split(' ')
      bindings.push({ relativePath: relativePath + file, url: new URL(link, context.url).href, digest: { algorithm: 'sha256', hex } })
      return `${file} ${context.basePath}${relativePath}${file} ${hex}`
    })
    return { body: lines.join('\n') + '\n', bindings }
  }
}

for (const d of dialects()) {
  describe(`UpstreamContext.ensureMetadata: a bound path asked before its index (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let files: UpstreamServer
    const good = testBytes(100_000)
    const second = testBytes(100_000)
    const logger = captureLogger()

    before(async () => {
      f = await startPullThrough({ dialect: d.name, logger, plugins: [{ remoteTypes: [ColdLinkedRemote] }] })
      files = await UpstreamServer.start()
      await f.wire('cold', { dir: 'idx/', remoteTypeId: 'cold-linked', negativeCacheTtl: 300 })
      f.upstream.on('/idx/pkg/', async (_req, res) => {
        // Slow enough for concurrent requests to find the fetch under way.
        await sleep(50)
        const body = `good.bin ${files.url('blobs/good.bin')} ${sha256(good)}\nsecond.bin ${files.url('blobs/second.bin')} ${sha256(second)}\n`
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body)
      })
      files.on('/blobs/good.bin', serveFile(good))
      files.on('/blobs/second.bin', serveFile(second))
    })
    after(async () => {
      await files?.close()
      await f?.cleanup()
    })

    it('fetches the index once for concurrent requests of its files, with the variant chosen for bindings', async () => {
      ColdLinkedRemote.asked.length = 0
      const [a, b, c] = await Promise.all(['good.bin', 'second.bin', 'good.bin'].map(async (p) => await f.get(`cold/pkg/${p}`)))
      assert.ok(a.complete && a.body.equals(good))
      assert.ok(b.complete && b.body.equals(second))
      assert.ok(c.complete && c.body.equals(good))
      assert.equal(f.upstream.hits('/idx/pkg/'), 1)
      assert.equal(f.upstream.requestsFor('/idx/pkg/')[0].headers.accept, 'text/x-short')
      assert.ok(ColdLinkedRemote.asked.length > 0 && ColdLinkedRemote.asked.every((flag) => flag))
      // The index is a regular copy of its variant: a client of another variant has its own fetch.
      const page = await f.get('cold/pkg/')
      assert.equal(page.headers['x-pulp-cache'], 'MISS')
      assert.equal(f.upstream.hits('/idx/pkg/'), 2)
    })

    it('answers 404 for a file the fresh index does not list, asking nothing', async () => {
      const before = f.upstream.log.length + files.log.length
      assert.equal((await f.get('cold/pkg/other.bin')).status, 404)
      assert.equal(f.upstream.log.length + files.log.length, before)
    })

    it('answers 404 for a file of an index the upstream does not have: one upstream request, the 404 remembered', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await f.get('cold/gone/x.bin')).status, 404)
      assert.equal(f.upstream.hits('/idx/gone/'), 1)
      assert.equal(f.upstream.log.filter((r) => r.path.startsWith('/idx/gone/x')).length, 0, 'the file path itself is never asked for')
      // Five at once: they share one run, the 404 is fetched and recorded once.
      await Promise.all([1, 2, 3, 4, 5].map(async (i) => { assert.equal((await f.get(`cold/gone-too/${i}.bin`)).status, 404) }))
      assert.equal(f.upstream.hits('/idx/gone-too/'), 1)
    })

    it('refuses a second call in one request, a call from a target asked for bindings, and a path that is no index', async () => {
      const before = f.upstream.log.length
      for (const [p, message] of [
        ['misuse/twice', /called ensureMetadata\("b\/"\) twice for one request/],
        ['misuse/chain/x.bin', /called ensureMetadata\("pkg\/"\) for a target asked by ensureMetadata itself/],
        ['misuse/file', /ensureMetadata\("pkg\/good.bin"\), which is no metadata path/]
      ] as const) {
        assert.equal((await f.get(`cold/${p}`)).status, 500, p)
        // The plugin's author reads why in the log (a client gets no internals).
        const logged = logger.calls.filter((c) => c.level === 'error').map((c) => String((c.args[0] as { err?: Error }).err?.message))
        assert.ok(logged.some((m) => message.test(m)), logged.join('\n'))
      }
      // `misuse/twice` learnt `a/` (a 404) and nothing else: no chain, no file asked.
      assert.deepEqual(f.upstream.log.slice(before).map((r) => r.path), ['/idx/a/'])
    })

    it('answers 502 when the upstream is down and the index was never cached; a cached index still answers', async () => {
      await f.upstream.close()
      const res = await f.get('cold/never/x.bin')
      assert.equal(res.status, 502)
      assert.match(JSON.parse(res.body.toString()).error.message, /remote "r\d+"/)
      assert.equal((await f.get('cold/pkg/other.bin')).status, 404)
      assert.equal((await f.get('cold/gone/y.bin')).status, 404)
    })
  })
}
