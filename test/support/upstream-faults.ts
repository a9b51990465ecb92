import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { UpstreamHandler } from './upstream-server'

/** Random test bytes of any size. */
export function testBytes (size: number): Buffer {
  return randomBytes(size)
}

export interface ServeOptions {
  headers?: Record<string, string>
  /** Bytes per write; default the whole body at once. */
  chunk?: number
  /** Pause between writes (ms). */
  interval?: number
  /** Write the first `chunk` and wait for this before the rest. */
  gate?: Promise<void>
  /** Wait before the status line (ms). */
  delay?: number
}

async function writeBody (res: ServerResponse, body: Buffer, options: ServeOptions, upTo = body.length): Promise<void> {
  const chunk = options.chunk ?? body.length
  for (let at = 0; at < upTo; at += chunk) {
    if (res.destroyed) return
    res.write(body.subarray(at, Math.min(at + chunk, upTo)))
    if (at === 0 && options.gate !== undefined) await options.gate
    if (options.interval !== undefined) await sleep(options.interval)
    else if (res.writableNeedDrain) await new Promise((resolve) => res.once('drain', resolve))
  }
}

/** A well-behaved file: 200 with Content-Length; HEAD gets the headers only. */
export function serveFile (body: Buffer, options: ServeOptions = {}): UpstreamHandler {
  return async (req, res) => {
    if (options.delay !== undefined) await sleep(options.delay)
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream', ...options.headers })
    if (req.method === 'HEAD') return void res.end()
    await writeBody(res, body, options)
    res.end()
  }
}

/** A chunked body (no Content-Length). */
export function serveChunked (body: Buffer, options: ServeOptions = {}): UpstreamHandler {
  return async (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...options.headers })
    if (req.method === 'HEAD') return void res.end()
    await writeBody(res, body, { chunk: 1024, ...options })
    res.end()
  }
}

export function status (code: number): UpstreamHandler {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain' })
    res.end(`status ${code}\n`)
  }
}

/** Sends the client elsewhere: `code` (302 by default) with `location`, absolute or relative. */
export function redirect (location: string, code = 302): UpstreamHandler {
  return (_req, res) => {
    res.writeHead(code, { location, 'content-type': 'text/plain' })
    res.end(`moved to ${location}\n`)
  }
}

/** Never answers: the request waits, connection open, for headers that do not come. */
export function silent (): UpstreamHandler {
  return () => {}
}

/** Announces the whole length, sends `bytes` of it, then falls silent with the connection open. */
export function stallAfter (body: Buffer, bytes: number): UpstreamHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' })
    res.write(body.subarray(0, bytes))
  }
}

/** Announces the whole length, sends `bytes` of it, then resets the connection. */
export function resetAfter (body: Buffer, bytes: number, options: ServeOptions = {}): UpstreamHandler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' })
    await writeBody(res, body, options, bytes)
    await sleep(20)
    res.socket?.resetAndDestroy()
  }
}

/** Announces the whole length, sends `bytes` of it, then closes the connection cleanly. */
export function shortBody (body: Buffer, bytes: number): UpstreamHandler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' })
    res.write(body.subarray(0, bytes))
    await sleep(20)
    res.socket?.end()
  }
}

/**
 * A body with neither Content-Length nor chunked encoding: it ends when the connection closes.
 * Only `bytes` of it are sent (all by default) before that clean close, which no client can
 * tell from the end.
 */
export function closeDelimited (body: Buffer, bytes = body.length, options: ServeOptions = {}): UpstreamHandler {
  return async (req, res) => {
    res.removeHeader('transfer-encoding')
    res.writeHead(200, { 'content-type': 'application/octet-stream', connection: 'close' })
    if (req.method !== 'HEAD') await writeBody(res, body, options, bytes)
    res.end()
  }
}

/** A gate a test opens when it is ready for the upstream to finish. */
export function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}
