import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import {
  FileRemote, type RewriteContext, type RewrittenMetadata, type TypeMetadata, type UpstreamContext, type UpstreamTarget
} from '../../lib'
import { openConnection } from '../../lib/storage/connection'
import { captureLogger } from '../support/capture-logger'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveFile, testBytes } from '../support/upstream-faults'
import { UpstreamServer } from '../support/upstream-server'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

/**
 * A third-party type written with the public hooks only: a page `<project>/` lists
 * `<file> <absolute url> <sha256>` lines (the files live on another host); the page is
 * rewritten to `<file> <link under the distribution> <sha256>` and every file is bound to its URL.
 * `Accept: text/x-upper` asks for another representation, cached apart.
 */
class LinkedRemote extends FileRemote {
  static override metadata (): TypeMetadata { return { id: 'linked', displayName: 'Linked pages' } }

  override async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    if (!relativePath.endsWith('/')) return await context.readBinding(relativePath)
    const upper = String(context.request.headers.accept ?? '').includes('text/x-upper')
    const url = this.getRemoteArtifactUrl(relativePath)
    return upper ? { url, variant: 'upper', accept: 'text/x-upper' } : { url, variant: 'plain', accept: 'text/plain' }
  }

  override rewriteMetadata (relativePath: string, body: Buffer, context: RewriteContext): RewrittenMetadata {
    const bindings: RewrittenMetadata['bindings'] = []
    const lines = body.toString().split('\n').filter((l) => l !== '').map((line) => {
      if (line.startsWith('#')) return line
      const [file, link, hex] = line.split(' ')
      bindings.push({ relativePath: relativePath + file, url: new URL(link, context.url).href, digest: { algorithm: 'sha256', hex } })
      return `${file} ${context.basePath}${relativePath}${file} ${hex}`
    })
    return { body: lines.join('\n') + '\n', contentType: 'text/x-linked', bindings }
  }
}

for (const d of dialects()) {
  describe(`remote hooks: rewritten metadata and bound paths (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let files: UpstreamServer
    let knex: Knex
    const logger = captureLogger()
    const good = testBytes(200_000)
    const other = testBytes(200_000)
    let remote = ''
    let pages = 0
    let page = ''

    before(async () => {
      f = await startPullThrough({ dialect: d.name, logger, plugins: [{ remoteTypes: [LinkedRemote] }] })
      files = await UpstreamServer.start()
      knex = openConnection(f.t.database, f.t.dataDir).knex
      remote = (await f.wire('linked', { dir: 'idx/', remoteTypeId: 'linked', metadataTtl: 1 })).remote
      page = [
        `good.bin ${files.url('blobs/good.bin')} ${sha256(good)}`,
        `bad.bin ${files.url('blobs/bad.bin')} ${sha256(good)}`
      ].join('\n')
      f.upstream.on('/idx/pkg/', async (req, res) => {
        pages++
        await sleep(50)
        const body = `# ${String(req.headers.accept)}\n${page}\n`
        const etag = `"${sha256(Buffer.from(body)).slice(0, 12)}"`
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end()
        res.writeHead(200, { 'content-type': 'text/plain', etag, 'content-length': Buffer.byteLength(body) })
        res.end(body)
      })
      files.on('/blobs/good.bin', serveFile(good))
      files.on('/blobs/bad.bin', serveFile(other))
    })
    after(async () => {
      await knex?.destroy()
      await files?.close()
      await f?.cleanup()
    })

    it('gives every client of the fetch the rewritten page, never the upstream\'s, and caches it', async () => {
      const all = await Promise.all([1, 2, 3].map(async () => await f.get('linked/pkg/')))
      for (const res of all) {
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], 'MISS')
        assert.equal(res.headers['content-type'], 'text/x-linked')
        assert.equal(res.headers.vary, 'Accept')
        assert.ok(!res.body.toString().includes(files.url()), 'no upstream URL left')
        assert.match(res.body.toString(), /^good\.bin \/pulp\/content\/linked\/pkg\/good\.bin [0-9a-f]{64}$/m)
      }
      assert.equal(pages, 1, 'one upstream fetch for the three clients')
      assert.equal(f.upstream.requestsFor('/idx/pkg/')[0].headers.accept, 'text/plain', 'the target\'s Accept went upstream')
      const hit = await f.get('linked/pkg/')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.ok(hit.body.equals(all[0].body))
      assert.equal(hit.headers.etag, `"${sha256(hit.body)}"`, 'the ETag is the rewritten copy\'s')
    })

    it('keeps each variant apart', async () => {
      const upper = await f.get('linked/pkg/', { headers: { accept: 'text/x-upper' } })
      assert.equal(upper.headers['x-pulp-cache'], 'MISS')
      assert.match(upper.body.toString(), /^# text\/x-upper$/m)
      const plain = await f.get('linked/pkg/')
      assert.equal(plain.headers['x-pulp-cache'], 'HIT')
      assert.match(plain.body.toString(), /^# text\/plain$/m)
    })

    it('serves a bound file from the other host, verified, and saves it', async () => {
      const res = await f.get('linked/pkg/good.bin')
      assert.equal(res.status, 200)
      assert.ok(res.complete && res.body.equals(good))
      assert.equal(files.hits('/blobs/good.bin'), 1)
      await f.untilHit('linked/pkg/good.bin')
      assert.ok((await f.get('linked/pkg/good.bin')).body.equals(good))
      assert.equal(files.hits('/blobs/good.bin', 'GET'), 1)
      const rows = await knex('pulp_remote_bindings').where({ remote_name: remote }).orderBy('relative_path') as Array<Record<string, unknown>>
      assert.deepEqual(rows.map((r) => [r.relative_path, r.url, r.digest_algorithm]), [
        ['pkg/bad.bin', files.url('blobs/bad.bin'), 'sha256'],
        ['pkg/good.bin', files.url('blobs/good.bin'), 'sha256']
      ])
    })

    it('answers 404 for a path no index bound, asking no upstream', async () => {
      const before = f.upstream.log.length + files.log.length
      const url = files.url('blobs/good.bin')
      for (const p of ['linked/pkg/unknown.bin', `linked/pkg/x?redirect=${encodeURIComponent(url)}`, `linked/pkg/${url.replace('http://', 'http:/')}`]) {
        assert.equal((await f.get(p)).status, 404, p)
      }
      // An encoded slash is refused by the path rules before any remote is involved.
      assert.equal((await f.get(`linked/pkg/${encodeURIComponent(url)}`)).status, 400)
      assert.equal(f.upstream.log.length + files.log.length, before)
    })

    it('cuts a file that does not match its digest, saves nothing, logs the remote, and tries again', async () => {
      const res = await f.get('linked/pkg/bad.bin')
      assert.equal(res.complete, false)
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'the temp file to go')
      assert.equal(await f.stored(other), false)
      assert.ok(logger.calls.some((c) => c.level === 'warn' && c.line.includes(remote) && c.line.includes('pkg/bad.bin')), 'logged with the remote')
      assert.equal((await f.get('linked/pkg/bad.bin')).complete, false)
      assert.equal(files.hits('/blobs/bad.bin'), 2)
    })

    it('revalidates an expired page: a 304 keeps the rewritten copy', async () => {
      const before = await f.get('linked/pkg/')
      await sleep(1100)
      const again = await f.get('linked/pkg/')
      assert.equal(again.headers['x-pulp-cache'], 'REVALIDATED')
      assert.ok(again.body.equals(before.body))
    })

    it('fetches and rewrites a page a HEAD asks for first, then serves it', async () => {
      f.upstream.on('/idx/head/', (_req, res) => {
        const body = `h.bin ${files.url('blobs/good.bin')} ${sha256(good)}\n`
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body)
      })
      const head = await f.get('linked/head/', { method: 'HEAD' })
      assert.equal(head.status, 200)
      assert.equal(head.headers['content-type'], 'text/x-linked')
      assert.equal(Number(head.headers['content-length']), Buffer.byteLength(`h.bin /pulp/content/linked/head/h.bin ${sha256(good)}\n`))
      assert.equal((await f.get('linked/head/')).headers['x-pulp-cache'], 'HIT')
    })

    it('answers 502 naming the remote when the type cannot rewrite a page, and saves nothing', async () => {
      f.upstream.on('/idx/broken/', (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('only-a-name\n') })
      const res = await f.get('linked/broken/')
      assert.equal(res.status, 502)
      const { error } = JSON.parse(res.body.toString()) as { error: { message: string } }
      assert.equal(error.message.startsWith(`remote "${remote}": LinkedRemote could not rewrite "broken/"`), true, error.message)
      assert.equal((await knex('pulp_pull_entries').where({ remote_name: remote, relative_path: 'broken/' })).length, 0)
      assert.equal((await f.get('linked/broken/')).status, 502)
      assert.equal(f.upstream.hits('/idx/broken/'), 2, 'nothing remembered: asked again')
    })

    it('forgets a remote\'s bindings with the remote', async () => {
      const dist = (await f.t.pulp.distributions.list()).results.find((x) => x.remote === remote)
      assert.ok(dist !== undefined)
      await f.t.pulp.distributions.delete(dist.name)
      await f.t.pulp.remotes.delete(remote)
      assert.equal((await knex('pulp_remote_bindings').where({ remote_name: remote })).length, 0)
    })
  })
}
