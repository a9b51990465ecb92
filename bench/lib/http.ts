/** Timed HTTP clients for the measures that are not a request rate (node:http, no keep-alive). */
import http from 'node:http'
import type { Writable } from 'node:stream'
import { createHash } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { bodyChunks } from './bytes'

/** Resolves when `stream` can take more, or has closed. */
export async function drained (stream: Writable): Promise<void> {
  if (stream.destroyed || !stream.writableNeedDrain) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done)
      stream.off('close', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

export interface TimedResponse {
  status: number
  headers: http.IncomingHttpHeaders
  /** Request sent to the first body byte. */
  ttfbMs: number
  /** Request sent to the last body byte. */
  totalMs: number
  bytes: number
  /** The body, when asked to keep it (small bodies only). */
  body?: Buffer
}

/** GETs (or HEADs) `url`, timing the first and the last byte; the body is counted and dropped. */
export async function timedRequest (
  url: string,
  options: { method?: string, keep?: boolean, timeoutMs?: number, headers?: Record<string, string> } = {}
): Promise<TimedResponse> {
  const t0 = performance.now()
  return await new Promise<TimedResponse>((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: false, headers: options.headers }, (res) => {
      let first: number | undefined
      let bytes = 0
      const kept: Buffer[] = []
      res.on('data', (chunk: Buffer) => {
        first ??= performance.now()
        bytes += chunk.length
        if (options.keep === true) kept.push(chunk)
      })
      res.once('end', () => {
        const end = performance.now()
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          ttfbMs: (first ?? end) - t0,
          totalMs: end - t0,
          bytes,
          ...(options.keep === true ? { body: Buffer.concat(kept) } : {})
        })
      })
      res.once('error', reject)
    })
    req.setTimeout(options.timeoutMs ?? 300_000, () => req.destroy(new Error(`${url}: timed out`)))
    req.once('error', reject)
    req.end()
  })
}

/**
 * GETs `url` with curl (a client in C, as the large-file lines want: Node's own client would
 * cap both sides near its parsing rate), timing the first and the last byte; the body goes
 * to /dev/null. Undefined when curl is not installed.
 */
export async function curlTimed (url: string): Promise<TimedResponse | undefined> {
  let out: string
  try {
    out = (await promisify(execFile)('curl', ['--silent', '--show-error', '--disable', '--output', '/dev/null', '--dump-header', '-',
      '--write-out', '\n%{http_code} %{time_starttransfer} %{time_total} %{size_download}', url], { maxBuffer: 1024 * 1024, timeout: 300_000 })).stdout
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const lines = out.trimEnd().split(/\r?\n/)
  const [status, first, total, bytes] = (lines.pop() ?? '').split(' ').map(Number)
  const headers: http.IncomingHttpHeaders = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status, headers, ttfbMs: first * 1000, totalMs: total * 1000, bytes }
}

export interface UploadResult { status: number, body: string, totalMs: number }

/**
 * POSTs a generated file of `size` bytes as multipart/form-data to pulp's content endpoint,
 * streamed chunk by chunk as curl -F would, with an exact Content-Length.
 */
export async function uploadMultipart (url: string, size: number, label: string, relativePath: string): Promise<UploadResult> {
  // Shaped like curl's: dashes and 16 hex digits.
  const boundary = `------------------------${createHash('sha256').update(label).digest('hex').slice(0, 16)}`
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="relative_path"\r\n\r\n${relativePath}\r\n` +
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${label}.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const t0 = performance.now()
  const req = http.request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + size + tail.length }
  })
  const answered = new Promise<UploadResult>((resolve, reject) => {
    req.once('error', reject)
    req.once('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => { text += s })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text, totalMs: performance.now() - t0 }))
      res.once('error', reject)
    })
  })
  answered.catch(() => {})
  req.write(head)
  for (const chunk of bodyChunks(size, label, 'binary')) {
    if (req.destroyed) break
    if (!req.write(chunk)) await drained(req)
  }
  req.end(tail)
  return await answered
}

/** Asks until the path is a HIT (the MISS's bookkeeping finishes after its body). */
export async function untilHit (url: string, timeoutMs = 60_000, want = 'HIT'): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const r = await timedRequest(url, { method: 'HEAD' })
    if (r.status === 200 && r.headers['x-pulp-cache'] === want) return
    if (performance.now() > deadline) throw new Error(`${url} is not ${want} after ${timeoutMs} ms (${r.status}, ${String(r.headers['x-pulp-cache'])})`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
