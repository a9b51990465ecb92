import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Download } from '../../lib/pull-through/download'
import { UpstreamClients } from '../../lib/pull-through/upstream'
import type { StoredRemote } from '../../lib/storage/remotes'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { closeDelimited, gate, serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type FetchResult, type PullThroughFixture } from '../support/upstream-pulp'
import { TempFiles } from '../../lib/artifacts/temp-files'

for (const d of dialects()) {
  describe(`a body whose end the upstream does not frame (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('cd')
    })
    after(async () => { await f?.cleanup() })

    /** Every download has let go of its temp file: whatever was to be saved is saved. */
    async function settled (): Promise<void> {
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
    }

    it('streams a close-delimited body cut half-way to every client as it came, and never saves it', async () => {
      const body = testBytes(256 * 1024)
      const half = body.subarray(0, 128 * 1024)
      const held = gate()
      f.upstream.on('/files/half.bin', closeDelimited(body, half.length, { chunk: 16 * 1024, gate: held.promise }))
      let started = 0
      const clients: Array<Promise<FetchResult>> = [0, 1].map(async () => await f.get('cd/half.bin', { onResponse: () => { started++ } }))
      await eventually(() => started === 2, 5000, 'both clients under way')
      held.open()
      for (const res of await Promise.all(clients)) {
        assert.equal(res.status, 200)
        assert.equal(res.headers['x-pulp-cache'], 'MISS')
        assert.ok(res.body.equals(half), 'what the upstream sent, as it sent it')
        // Ended by the close, as the upstream's was: never chunked, which would vouch for the end.
        assert.equal(res.headers['content-length'], undefined)
        assert.equal(res.headers['transfer-encoding'], undefined)
        assert.equal(res.headers.connection, 'close')
      }
      assert.equal(f.upstream.hits('/files/half.bin', 'GET'), 1, 'one fetch for both')
      await settled()
      assert.equal(await f.stored(half), false, 'the cut body is not an artifact')

      const later = await f.get('cd/half.bin')
      assert.equal(later.headers['x-pulp-cache'], 'MISS', 'never a HIT of the half file')
      assert.equal(f.upstream.hits('/files/half.bin', 'GET'), 2)
    })

    it('saves the path once the upstream frames the body again', async () => {
      const body = testBytes(64 * 1024)
      f.upstream.on('/files/back.bin', closeDelimited(body))
      const streamed = await f.get('cd/back.bin')
      assert.ok(streamed.body.equals(body))
      await settled()
      assert.equal(await f.stored(body), false, 'whole or not, an unframed body cannot be told complete')

      f.upstream.on('/files/back.bin', serveFile(body))
      const framed = await f.get('cd/back.bin')
      assert.equal(framed.headers['x-pulp-cache'], 'MISS')
      assert.equal(framed.headers['content-length'], String(body.length))
      await f.untilHit('cd/back.bin')
      const hit = await f.get('cd/back.bin')
      assert.equal(hit.headers['x-pulp-cache'], 'HIT')
      assert.ok(hit.body.equals(body))
      assert.equal(f.upstream.hits('/files/back.bin', 'GET'), 2)
    })

    it('keeps an unframed body only when a digest known in advance verifies it', async () => {
      const body = testBytes(32 * 1024)
      f.upstream.on('/files/known.bin', closeDelimited(body))
      const stored: StoredRemote = {
        name: 'known', url: f.upstream.url('files/'), remoteTypeId: 'file', headers: {}, policy: 'on_demand', connectTimeout: null,
        totalTimeout: null, readTimeout: 30, proxyUrl: null, tlsValidation: true, negativeCacheTtl: null,
        metadataPatterns: null, metadataTtl: 300, staleIfError: 86400, maxFailures: 5, created: 'c', updated: 'u'
      }
      const clients = new UpstreamClients(randomUUID())
      const temp = new TempFiles(`${f.t.dataDir}/tmp`, randomUUID())
      const fetch = async (hex: string | undefined): Promise<Download> => {
        const download = new Download({
          clients, remote: stored, url: f.upstream.url('files/known.bin'), relativePath: 'known.bin', via: undefined, temp, abortWhenUnwatched: false,
          digest: hex === undefined ? undefined : { algorithm: 'sha256', hex }
        })
        await download.settled
        await download.dispose()
        return download
      }
      try {
        const unknown = await fetch(undefined)
        assert.equal(unknown.state, 'complete')
        assert.equal(unknown.savable, false)
        const verified = await fetch(sha256(body))
        assert.equal(verified.state, 'complete')
        assert.equal(verified.savable, true)
        const wrong = await fetch('0'.repeat(64))
        assert.equal(wrong.state, 'failed')
        assert.match(wrong.error?.message ?? '', /do not match the sha256 its index gives/)
        assert.equal(wrong.savable, false)
      } finally {
        await clients.close()
      }
    })
  })
}
