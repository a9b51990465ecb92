import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { resetAfter, serveFile, shortBody, status, testBytes } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const SECRET = 'Bearer do-not-leak-me'

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

for (const d of dialects()) {
  describe(`pull-through errors (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('err', { headers: { authorization: SECRET }, totalTimeout: 0.5 })
    })
    after(async () => { await f?.cleanup() })

    function assertError (res: { status: number, body: Buffer }, statusCode: number, code: string): string {
      assert.equal(res.status, statusCode)
      const { error } = JSON.parse(res.body.toString()) as { error: { code: string, message: string } }
      assert.equal(error.code, code)
      assert.match(error.message, /remote "r\d+"/, 'the message names the remote')
      assert.doesNotMatch(error.message, /do-not-leak-me|127\.0\.0\.1/, 'never its credentials or URL')
      return error.message
    }

    it('answers 404 for an upstream 404', async () => {
      assertError(await f.get('err/missing.bin'), 404, 'ERR_PULP_NOT_FOUND')
    })

    for (const code of [500, 503]) {
      it(`answers 502 for an upstream ${code}`, async () => {
        f.upstream.on(`/files/s${code}.bin`, status(code))
        const message = assertError(await f.get(`err/s${code}.bin`), 502, 'ERR_PULP_UPSTREAM')
        assert.match(message, new RegExp(String(code)))
      })
    }

    it('answers 502 when the upstream refuses the connection', async () => {
      const port = await closedPort()
      await f.t.pulp.remotes.create({ name: 'refused', url: `http://127.0.0.1:${port}/` })
      await f.t.pulp.distributions.create({ name: 'refused', basePath: 'refused', remote: 'refused' })
      const res = await f.get('refused/a.bin')
      assert.equal(res.status, 502)
      assert.match(JSON.parse(res.body.toString()).error.message, /remote "refused".*connection refused/)
    })

    it('answers 504 when the upstream answers after total_timeout', async () => {
      const body = testBytes(1000)
      f.upstream.on('/files/slow.bin', serveFile(body, { delay: 3000 }))
      assertError(await f.get('err/slow.bin'), 504, 'ERR_PULP_UPSTREAM_TIMEOUT')
    })

    it('cuts the client off when a drip runs past total_timeout, and saves nothing', async () => {
      const body = testBytes(64 * 1024)
      f.upstream.on('/files/drip.bin', serveFile(body, { chunk: 1024, interval: 50 }))
      const res = await f.get('err/drip.bin')
      assert.equal(res.status, 200)
      assert.equal(res.complete, false, 'an aborted response, never a short body that looks whole')
      assert.ok(res.body.length < body.length)
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      assert.equal(await f.stored(body), false)
    })

    it('cuts the client off on a reset mid-body, saves nothing, and the next request succeeds', async () => {
      const body = testBytes(200 * 1024)
      f.upstream.on('/files/reset.bin', resetAfter(body, 50 * 1024))
      const cut = await f.get('err/reset.bin')
      assert.equal(cut.status, 200)
      assert.equal(cut.complete, false)
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      assert.equal(await f.stored(body), false)

      f.upstream.on('/files/reset.bin', serveFile(body))
      const again = await f.get('err/reset.bin')
      assert.equal(again.status, 200)
      assert.equal(again.headers['x-pulp-cache'], 'MISS')
      assert.ok(again.body.equals(body))
      assert.equal(f.upstream.hits('/files/reset.bin'), 2)
      await eventually(async () => await f.stored(body), 5000, 'the artifact')
    })

    it('cuts the client off when the body is shorter than its Content-Length, and saves nothing', async () => {
      const body = testBytes(100 * 1024)
      f.upstream.on('/files/short.bin', shortBody(body, 60 * 1024))
      const cut = await f.get('err/short.bin')
      assert.equal(cut.status, 200)
      assert.equal(cut.complete, false)
      assert.ok(cut.body.length <= 60 * 1024)
      await eventually(async () => (await f.tmpFiles()).length === 0, 5000, 'tmp/ empty')
      assert.equal(await f.stored(body), false)
      assert.equal(await f.stored(body.subarray(0, 60 * 1024)), false)
      const retry = await f.get('err/short.bin')
      assert.equal(retry.headers['x-pulp-cache'], 'MISS', 'nothing was cached: the next request tries again')
      assert.equal(f.upstream.hits('/files/short.bin'), 2)
    })
  })
}
