import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parseMultipart, rawRequest } from '../support/content-http'
import { buildPublication, makeFixture, patternBytes, publish, sha256, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

describe('Range', () => {
  let fx: ContentFixture
  let srv: ContentServer
  const data = patternBytes(10_000)
  const etag = `"${sha256(data)}"`
  const file = '/content/repo/blob.bin'
  let lastModified: string

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'repo', await buildPublication(fx.dataDir, '1', { 'blob.bin': data, 'empty.bin': '' }))
    srv = await startContentServer(fx.dataDir)
    lastModified = String((await rawRequest(srv.port, file, { method: 'HEAD' })).headers['last-modified'])
  })
  after(async () => {
    await srv.close()
    await fx.cleanup()
  })

  const get = async (headers: Record<string, string>, target = file): ReturnType<typeof rawRequest> =>
    await rawRequest(srv.port, target, { headers })

  it('answers one range with 206, Content-Range and those bytes', async () => {
    const res = await get({ Range: 'bytes=100-199' })
    assert.equal(res.status, 206)
    assert.equal(res.headers['content-range'], 'bytes 100-199/10000')
    assert.equal(res.headers['content-length'], '100')
    assert.equal(res.headers['content-type'], 'application/octet-stream')
    assert.equal(res.headers.etag, etag)
    assert.deepEqual(res.body, data.subarray(100, 200))
  })

  it('answers a suffix range with the last bytes', async () => {
    const res = await get({ Range: 'bytes=-500' })
    assert.equal(res.status, 206)
    assert.equal(res.headers['content-range'], 'bytes 9500-9999/10000')
    assert.deepEqual(res.body, data.subarray(9500))
  })

  it('answers an open range up to the end', async () => {
    const res = await get({ Range: 'bytes=100-' })
    assert.equal(res.status, 206)
    assert.equal(res.headers['content-range'], 'bytes 100-9999/10000')
    assert.deepEqual(res.body, data.subarray(100))
  })

  it('clamps a last position past the end', async () => {
    const res = await get({ Range: 'bytes=9990-20000' })
    assert.equal(res.status, 206)
    assert.equal(res.headers['content-range'], 'bytes 9990-9999/10000')
    assert.deepEqual(res.body, data.subarray(9990))
  })

  it('answers several ranges as multipart/byteranges, each part byte for byte', async () => {
    const res = await get({ Range: 'bytes=0-9, 5000-5099, -10' })
    assert.equal(res.status, 206)
    const type = String(res.headers['content-type'])
    assert.match(type, /^multipart\/byteranges; boundary=[0-9a-f]{32}$/)
    assert.equal(Number(res.headers['content-length']), res.body.length)
    const parts = parseMultipart(res.body, type)
    const expected: Array<[number, number]> = [[0, 9], [5000, 5099], [9990, 9999]]
    assert.equal(parts.length, expected.length)
    parts.forEach((part, i) => {
      const [start, end] = expected[i]
      assert.equal(part.headers['content-type'], 'application/octet-stream')
      assert.equal(part.headers['content-range'], `bytes ${start}-${end}/10000`)
      assert.deepEqual(part.body, data.subarray(start, end + 1))
    })
  })

  it('uses a new boundary for every response', async () => {
    const a = await get({ Range: 'bytes=0-0,2-2' })
    const b = await get({ Range: 'bytes=0-0,2-2' })
    assert.notEqual(a.headers['content-type'], b.headers['content-type'])
  })

  it('merges overlapping ranges into one', async () => {
    const res = await get({ Range: 'bytes=0-99,50-149' })
    assert.equal(res.status, 206)
    assert.equal(res.headers['content-range'], 'bytes 0-149/10000')
    assert.deepEqual(res.body, data.subarray(0, 150))
  })

  it('answers 416 past the end, with Content-Range: bytes */size', async () => {
    const res = await get({ Range: 'bytes=10000-10010' })
    assert.equal(res.status, 416)
    assert.equal(res.headers['content-range'], 'bytes */10000')
    assert.equal(res.body.length, 0)
  })

  it('answers 416 for any range of an empty file', async () => {
    const res = await get({ Range: 'bytes=0-' }, '/content/repo/empty.bin')
    assert.equal(res.status, 416)
    assert.equal(res.headers['content-range'], 'bytes */0')
  })

  for (const header of ['bytes=abc', 'bytes=5-2-1', 'bytes', 'bytes=1-x', 'items=0-5', 'bytes=--1', 'pages=1-2,3-4']) {
    it(`ignores the invalid Range ${JSON.stringify(header)} and sends the whole file`, async () => {
      const res = await get({ Range: header })
      assert.equal(res.status, 200)
      assert.equal(res.headers['content-range'], undefined)
      assert.deepEqual(res.body, data)
    })
  }

  it('serves the whole file rather than hundreds of tiny parts', async () => {
    const many = Array.from({ length: 200 }, (_, i) => `${i * 20}-${i * 20}`).join(',')
    const res = await get({ Range: `bytes=${many}` })
    assert.equal(res.status, 200)
    assert.equal(res.body.length, data.length)
  })

  describe('If-Range', () => {
    it('honours the range when the ETag matches', async () => {
      const res = await get({ Range: 'bytes=0-4', 'If-Range': etag })
      assert.equal(res.status, 206)
      assert.deepEqual(res.body, data.subarray(0, 5))
    })

    it('sends the whole file when the ETag is stale', async () => {
      const res = await get({ Range: 'bytes=0-4', 'If-Range': `"${'0'.repeat(64)}"` })
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, data)
    })

    it('sends the whole file for a weak ETag, which never matches strongly', async () => {
      const res = await get({ Range: 'bytes=0-4', 'If-Range': `W/${etag}` })
      assert.equal(res.status, 200)
    })

    it('honours the range when the date is exactly Last-Modified', async () => {
      const res = await get({ Range: 'bytes=0-4', 'If-Range': lastModified })
      assert.equal(res.status, 206)
    })

    it('sends the whole file when the date is stale', async () => {
      const stale = new Date(Date.parse(lastModified) - 1000).toUTCString()
      const res = await get({ Range: 'bytes=0-4', 'If-Range': stale })
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, data)
    })

    it('sends the whole file rather than 416 when the validator is stale', async () => {
      const res = await get({ Range: 'bytes=20000-', 'If-Range': '"stale"' })
      assert.equal(res.status, 200)
    })
  })
})
