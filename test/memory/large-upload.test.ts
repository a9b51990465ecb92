import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import http from 'node:http'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { tempDir } from '../support/pulp'

const MiB = 1024 * 1024
const SIZE = 256 * MiB

async function getJson (port: number, pathname: string): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`)
  return await res.json() as Record<string, number>
}

describe('a large upload', () => {
  it('streams 256 MiB to disk without holding it in memory', { timeout: 180_000 }, async (t) => {
    const dir = await tempDir()
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', 'memory-server.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const [line] = await once(child.stdout, 'data') as [Buffer]
      const port = Number(line.toString().trim())
      const before = await getJson(port, '/rss')

      const boundary = 'memtestboundary'
      const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
      const req = http.request({
        host: '127.0.0.1', port, method: 'POST', path: '/pulp/api/v1/repositories/big/content',
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': head.length + SIZE + tail.length }
      })
      const hash = createHash('sha256')
      const chunk = Buffer.alloc(MiB)
      req.write(head)
      for (let i = 0; i < SIZE / MiB; i++) {
        chunk.fill(i % 251)
        hash.update(chunk)
        if (!req.write(chunk)) await once(req, 'drain')
      }
      req.end(tail)
      const [res] = await once(req, 'response') as [http.IncomingMessage]
      let text = ''
      for await (const part of res) text += String(part)
      assert.equal(res.statusCode, 201, text)
      const unit = (JSON.parse(text) as { units: Array<{ sha256: string, size: number }> }).units[0]
      assert.equal(unit.size, SIZE)
      assert.equal(unit.sha256, hash.digest('hex'))

      const afterUpload = await getJson(port, '/rss')
      const growth = afterUpload.peak - before.peak
      t.diagnostic(`peak RSS ${(before.peak / MiB).toFixed(1)} MiB before, ${(afterUpload.peak / MiB).toFixed(1)} MiB after a ${SIZE / MiB} MiB upload`)
      // Buffering the body would grow the peak by at least its 256 MiB.
      assert.ok(growth < 96 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB during a ${SIZE / MiB} MiB upload`)
    } finally {
      child.kill('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    }
  })
})
