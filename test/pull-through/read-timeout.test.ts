import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { get as httpGet } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import request from 'supertest'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { serveFile, silent, stallAfter, testBytes } from '../support/upstream-faults'
import { startPullThrough, type FetchResult, type PullThroughFixture } from '../support/upstream-pulp'

const API = '/pulp/api/v1'
/** The remote's read_timeout in these tests (s): undici's idle timers fire within a second of it. */
const READ_TIMEOUT = 0.5
/** The most a client may wait for what a stalled upstream costs it (ms); the old default held it 300 s. */
const BOUND = 5000

/** `promise`, or a failure once it has taken longer than `ms`. */
async function within<T> (ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** A GET whose client stops reading for `pauseMs` after the first chunk, then reads the rest. */
async function slowReader (port: number, target: string, pauseMs: number): Promise<{ status: number, body: Buffer, complete: boolean }> {
  return await new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
      const chunks: Buffer[] = []
      let paused = false
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        if (paused) return
        paused = true
        res.pause()
        setTimeout(() => res.resume(), pauseMs)
      })
      res.on('error', () => {})
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: res.complete }))
    }).on('error', reject)
  })
}

for (const d of dialects()) {
  describe(`a remote's read_timeout (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('rt', { readTimeout: READ_TIMEOUT })
    })
    after(async () => { await f?.cleanup() })

    it('defaults to 30 s, is read back, and null restores the default', async () => {
      const created = await request(f.t.app).post(`${API}/remotes`).send({ name: 'rt-api', url: 'http://example.org/' })
      assert.equal(created.status, 201)
      assert.equal(created.body.read_timeout, 30)
      const set = await request(f.t.app).patch(`${API}/remotes/rt-api`).send({ read_timeout: 2.5 })
      assert.equal(set.status, 200)
      assert.equal(set.body.read_timeout, 2.5)
      assert.equal((await f.t.pulp.remotes.get('rt-api')).readTimeout, 2.5)
      const reset = await request(f.t.app).patch(`${API}/remotes/rt-api`).send({ read_timeout: null })
      assert.equal(reset.body.read_timeout, 30)
    })

    for (const bad of [0, -1, '5', true, 1e12]) {
      it(`answers 400 naming read_timeout for ${JSON.stringify(bad)}`, async () => {
        const res = await request(f.t.app).post(`${API}/remotes`).send({ name: 'rt-bad', url: 'http://example.org/', read_timeout: bad })
        assert.equal(res.status, 400)
        assert.equal(res.body.error.code, 'ERR_PULP_INVALID')
        assert.match(res.body.error.message, /"read_timeout"/)
      })
    }

    it('answers 504 when the upstream sends no headers within read_timeout; after recovery the next request gets the file', async () => {
      f.upstream.on('/files/mute.bin', silent())
      const started = performance.now()
      const res = await within(BOUND, f.get('rt/mute.bin'), 'the client of a mute upstream')
      assert.equal(res.status, 504)
      const { error } = JSON.parse(res.body.toString()) as { error: { code: string, message: string } }
      assert.equal(error.code, 'ERR_PULP_UPSTREAM_TIMEOUT')
      assert.match(error.message, /remote "r\d+" sent nothing for longer than its read_timeout for "mute\.bin"/)
      assert.ok(performance.now() - started >= READ_TIMEOUT * 1000 - 50, 'not before the timeout')

      const body = testBytes(50_000)
      f.upstream.on('/files/mute.bin', serveFile(body))
      const recovered = await within(BOUND, f.get('rt/mute.bin'), 'the first request after recovery')
      assert.equal(recovered.status, 200)
      assert.equal(recovered.headers['x-pulp-cache'], 'MISS')
      assert.ok(recovered.body.equals(body))
    })

    it('cuts the clients of a body that stalls past read_timeout; a request after that starts afresh', async () => {
      const body = testBytes(256 * 1024)
      f.upstream.on('/files/stall.bin', stallAfter(body, 64 * 1024))
      let answered = 0
      const first = within(BOUND, f.get('rt/stall.bin', { onResponse: () => { answered++ } }), 'the first client of a stalled body')
      await eventually(() => answered === 1, BOUND, 'the first client under way')
      // Joins while the download is silent but not yet past its read_timeout.
      const joined = within(BOUND, f.get('rt/stall.bin'), 'a client that joined the stalled download')
      // The upstream recovers; the stalled download is still silent.
      f.upstream.on('/files/stall.bin', serveFile(body))
      for (const cut of await Promise.all([first, joined])) {
        assert.equal(cut.status, 200)
        assert.equal(cut.complete, false, 'destroyed, never a short body that looks whole')
        assert.ok(cut.body.length <= 64 * 1024)
      }
      const fresh: FetchResult = await within(BOUND, f.get('rt/stall.bin'), 'a request after the stall')
      assert.equal(fresh.status, 200)
      assert.equal(fresh.headers['x-pulp-cache'], 'MISS')
      assert.ok(fresh.complete && fresh.body.equals(body), 'a new download, not the stuck one')
      assert.equal(f.upstream.hits('/files/stall.bin', 'GET'), 2)
      await f.untilHit('rt/stall.bin')
      assert.equal(await f.stored(body.subarray(0, 64 * 1024)), false)
    })

    it('does not count a pause of our own slow client as the upstream\'s silence', async () => {
      // Far more than the socket buffers hold, so the download has to wait for this client.
      const body = testBytes(24 * 1024 * 1024)
      f.upstream.on('/files/big.bin', serveFile(body, { chunk: 256 * 1024 }))
      const res = await slowReader(f.port, '/pulp/content/rt/big.bin', READ_TIMEOUT * 1000 * 4)
      assert.equal(res.status, 200)
      assert.ok(res.complete && res.body.equals(body))
      await sleep(10)
      await f.untilHit('rt/big.bin')
    })
  })
}
