import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, rm } from 'node:fs/promises'
import { get, type IncomingMessage } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { rawRequest } from '../support/content-http'
import { buildPublication, makeFixture, patternBytes, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

const SIZE = 20 * 1024 * 1024

async function openFds (): Promise<number> {
  return (await readdir('/proc/self/fd')).length
}

/** Polls until the open descriptors are back to `baseline`: cleanup is asynchronous. */
async function settleFds (baseline: number): Promise<number> {
  let now = await openFds()
  for (let i = 0; i < 100 && now > baseline; i++) {
    await delay(20)
    now = await openFds()
  }
  return now
}

function startGet (port: number, target: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: target, headers, agent: false }, resolve).on('error', reject)
  })
}

describe('streaming large files', () => {
  let fx: ContentFixture
  let srv: ContentServer
  const oldData = patternBytes(SIZE, 7)
  const newData = patternBytes(SIZE, 8)

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'x', await buildPublication(fx.dataDir, '1', { 'big.bin': oldData }))
    srv = await startContentServer(fx.dataDir)
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  it('gives a client the old file whole when the publication is swapped (and removed) mid-stream', async () => {
    const res = await startGet(srv.port, '/content/x/big.bin')
    assert.equal(res.statusCode, 200)
    const hash = createHash('sha256')
    let received = 0
    const first: Buffer = await new Promise((resolve) => res.once('data', resolve))
    res.pause()
    hash.update(first)
    received += first.length
    assert.ok(received < SIZE, 'the swap must happen while the body is still streaming')

    const next = await buildPublication(fx.dataDir, '2', { 'big.bin': newData })
    await publish(fx.dataDir, 'http', 'x', next)
    // The grace period has run out too: the old tree is gone from disk.
    await rm(`${fx.dataDir}/publications/repo/web/1`, { recursive: true })
    await rm(`${fx.dataDir}/artifacts/${sha256(oldData).slice(0, 2)}/${sha256(oldData).slice(2)}`)

    for await (const chunk of res) {
      hash.update(chunk as Buffer)
      received += (chunk as Buffer).length
    }
    assert.equal(received, SIZE)
    assert.equal(hash.digest('hex'), sha256(oldData))

    const fresh = await rawRequest(srv.port, '/content/x/big.bin')
    assert.equal(fresh.status, 200)
    assert.equal(fresh.headers.etag, `"${sha256(newData)}"`)
    assert.ok(fresh.body.equals(newData))
  })
})

describe('clients that go away', () => {
  let fx: ContentFixture
  let srv: ContentServer
  const errors: unknown[] = []
  const record = (err: unknown): void => { errors.push(err) }

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'x', await buildPublication(fx.dataDir, '1', { 'big.bin': patternBytes(SIZE, 3), 'small.bin': patternBytes(100, 4), 'medium.bin': patternBytes(300_000, 5) }))
    srv = await startContentServer(fx.dataDir)
    process.on('uncaughtException', record)
    process.on('unhandledRejection', record)
    // Warm up once, so lazily opened descriptors do not count as leaks.
    await rawRequest(srv.port, '/content/x/big.bin', { headers: { Range: 'bytes=0-0' } })
  })
  after(async () => {
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
    await srv.close()
    await fx.cleanup()
  })

  const cases: Array<{ name: string, headers: Record<string, string> }> = [
    { name: 'the whole file', headers: {} },
    { name: 'one range', headers: { Range: 'bytes=1000-' } },
    { name: 'several ranges', headers: { Range: 'bytes=0-10,1000-5000000,6000000-' } }
  ]

  for (const { name, headers } of cases) {
    it(`closes every file descriptor when clients leave half way through ${name}`, async () => {
      const baseline = await openFds()
      await Promise.all(Array.from({ length: 20 }, async () => {
        const res = await startGet(srv.port, '/content/x/big.bin', headers)
        await new Promise((resolve) => res.once('data', resolve))
        res.destroy()
      }))
      const now = await settleFds(baseline)
      assert.ok(now <= baseline, `${now - baseline} descriptors leaked`)
      assert.deepEqual(errors, [])
      assert.deepEqual(srv.errors, [])
    })
  }

  it('closes every file descriptor after complete answers too', async () => {
    const baseline = await openFds()
    const variants: Array<Record<string, string>> = [{}, { Range: 'bytes=5-10' }, { Range: 'bytes=0-1,5-6,9-9' }]
    // small.bin is read into memory and sent in one write, medium.bin is streamed.
    for (const file of ['small.bin', 'medium.bin']) {
      for (const headers of variants) {
        await Promise.all(Array.from({ length: 10 }, async () => {
          const res = await rawRequest(srv.port, `/content/x/${file}`, { headers })
          assert.ok(res.status === 200 || res.status === 206)
        }))
      }
    }
    const now = await settleFds(baseline)
    assert.ok(now <= baseline, `${now - baseline} descriptors leaked`)
  })

  it('copes with clients that leave before the answer starts', async () => {
    const baseline = await openFds()
    await Promise.all(Array.from({ length: 20 }, async () => {
      await new Promise<void>((resolve) => {
        const req = get({ host: '127.0.0.1', port: srv.port, path: '/content/x/big.bin', agent: false })
        req.on('error', () => resolve())
        req.on('socket', (socket) => socket.on('connect', () => { req.destroy(); resolve() }))
      })
    }))
    const now = await settleFds(baseline)
    assert.ok(now <= baseline, `${now - baseline} descriptors leaked`)
    assert.deepEqual(errors, [])
    assert.deepEqual(srv.errors, [])
    const still = await rawRequest(srv.port, '/content/x/big.bin', { headers: { Range: 'bytes=0-3' } })
    assert.equal(still.status, 206)
  })
})
