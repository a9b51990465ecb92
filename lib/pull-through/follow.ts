import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import mime from 'mime-types'
import parseRange from 'range-parser'
import { errorBody, httpStatusOf } from '../errors'
import { sendError as sendJsonError } from '../http/request'
import { drained, whenOver } from '../http/response-over'
import { SavedElsewhereError, type Attachment, type Download, type DownloadHead, type DownloadListener } from './download'

/** The most a client reads from the temp file at once when it is behind the download. */
const READ_CHUNK = 256 * 1024

export interface FollowOptions {
  cacheControl: string | false
  /** The file name the client asked for, for the type when the upstream gave none. */
  name: string
  /** Set over the upstream's (X-Pulp-Cache, Cache-Status). */
  headers?: OutgoingHttpHeaders
  /**
   * Send no Content-Length (the body goes chunked): bytes checked against a digest only at their
   * end must not look complete to a client before the check, whose failure cuts the connection.
   */
  hideLength?: boolean
}

interface ByteRange { start: number, end: number }

/** A JSON error answer, unless the response already started: then the connection is cut. */
export function sendError (res: ServerResponse, err: unknown, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJsonError(res, httpStatusOf(err), errorBody(err).error, headers)
}

/** The headers of a MISS, from what the upstream said. */
export function missHeaders (head: DownloadHead, options: FollowOptions): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'accept-ranges': 'bytes',
    'content-type': head.contentType ?? (mime.contentType(options.name) || 'application/octet-stream'),
    'x-content-type-options': 'nosniff',
    'x-pulp-cache': 'MISS'
  }
  if (options.cacheControl !== false) headers['cache-control'] = options.cacheControl
  if (head.lastModified !== undefined) headers['last-modified'] = head.lastModified
  if (head.contentEncoding !== undefined) headers['content-encoding'] = head.contentEncoding
  if (head.contentLength !== undefined && options.hideLength !== true) headers['content-length'] = head.contentLength
  return options.headers === undefined ? headers : Object.assign(headers, options.headers)
}

/**
 * The one range a client may get before the file is complete. Anything we cannot judge yet
 * (no length, If-Range, several ranges, another unit) gets the whole body, which RFC 9110
 * 14.2 allows; an unsatisfiable range gets 416.
 */
function pickRange (req: IncomingMessage, head: DownloadHead): ByteRange | 'unsatisfiable' | undefined {
  const header = req.headers.range
  if (req.method !== 'GET' || header === undefined || head.contentLength === undefined) return undefined
  if (req.headers['if-range'] !== undefined) return undefined
  if (header.slice(0, header.indexOf('=')).trim().toLowerCase() !== 'bytes') return undefined
  const parsed = parseRange(head.contentLength, header, { combine: true })
  if (parsed === -1) return 'unsatisfiable'
  if (parsed === -2 || parsed.length !== 1) return undefined
  return parsed[0]
}

/**
 * Serves one client from a shared download: the upstream's headers, then the body (or the
 * client's range) as it arrives. If the download fails after the status went out, the
 * connection is destroyed, so no client takes a short body for a whole one. Answers false,
 * having sent nothing, when another instance saved the path meanwhile (serve the HIT).
 */
export async function sendFromDownload (req: IncomingMessage, res: ServerResponse, download: Download, options: FollowOptions,
  counts?: { servedBytes: number }): Promise<boolean> {
  const attachment = download.attach()
  try {
    let head: DownloadHead
    try {
      head = await download.headReady
    } catch (err: unknown) {
      if (err instanceof SavedElsewhereError) return false
      sendError(res, err, { 'x-pulp-cache': 'MISS' })
      return true
    }
    const headers = missHeaders(head, options)
    const wanted = req.headers.range !== undefined && options.hideLength !== true ? pickRange(req, head) : undefined
    if (wanted === 'unsatisfiable') {
      headers['content-range'] = `bytes */${head.contentLength as number}`
      headers['content-length'] = 0
      res.writeHead(416, headers)
      res.end()
      return true
    }
    if (wanted !== undefined) {
      headers['content-range'] = `bytes ${wanted.start}-${wanted.end}/${head.contentLength as number}`
      headers['content-length'] = wanted.end - wanted.start + 1
    }
    if (!head.framed) {
      // The upstream's body ends when its connection closes, so ours does too: a chunked
      // answer would vouch for an end we could not check.
      headers.connection = 'close'
      res.removeHeader('transfer-encoding')
    }
    res.writeHead(wanted === undefined ? 200 : 206, headers)
    if (req.method === 'HEAD') {
      res.end()
      return true
    }
    const start = wanted?.start ?? 0
    const sent = await follow(res, download, attachment, start, wanted === undefined ? Number.POSITIVE_INFINITY : wanted.end + 1)
    if (counts !== undefined) counts.servedBytes += sent
    return true
  } finally {
    attachment.release()
  }
}

/**
 * Writes bytes `[start, limit)` of the download to `res`: from the file while behind it, then
 * the bytes on their way to the file, then live as they arrive.
 */
/** Resolves with the bytes written. */
async function follow (res: ServerResponse, download: Download, attachment: Attachment, start: number, limit: number): Promise<number> {
  const { spool } = download
  let closed = false
  const unwatch = whenOver(res, () => { closed = true })
  // Read buffers whose bytes the socket has written, for the next read. A client behind the
  // download (it is read as fast as the upstream sends) takes nearly every byte from the file:
  // a fresh 256 KiB buffer per read left ~4,000 of them a GiB for the GC, and a cold pull's peak
  // RSS 5-10 MB higher than when the client kept up (bench measure 7).
  const spare: Buffer[] = []
  try {
    let pos = start
    for (;;) {
      if (closed) return pos - start
      if (pos >= limit) break
      if (download.state === 'failed') {
        res.destroy()
        return pos - start
      }
      if (pos < spool.memoryStart) {
        const want = Math.min(spool.memoryStart, limit, pos + READ_CHUNK) - pos
        const buffer = spare.pop() ?? Buffer.allocUnsafe(READ_CHUNK)
        const got = await spool.read(buffer, want, pos)
        if (got === 0) {
          res.destroy()
          return pos - start
        }
        pos += got
        if (!res.write(got === READ_CHUNK ? buffer : buffer.subarray(0, got), () => spare.push(buffer))) await drained(res)
        continue
      }
      // From here to the subscription nothing awaits, so no chunk can slip past.
      let congested = false
      for (const piece of spool.bufferedFrom(pos, limit)) {
        pos += piece.length
        if (!res.write(piece)) congested = true
      }
      if (congested) {
        await drained(res)
        continue
      }
      if (pos >= limit || download.state === 'complete') break
      const live = await followLive(res, download, attachment, pos, limit)
      pos = live.pos
      if (live.congested) await drained(res)
    }
    res.end()
    return pos - start
  } finally {
    unwatch()
  }
}

/**
 * Writes chunks as they arrive, until the client's socket is congested, its range is done,
 * the download settles or the client leaves. Called only with `pos` at `received` (or past it,
 * for a range further on), so no byte is skipped.
 */
async function followLive (
  res: ServerResponse,
  download: Download,
  attachment: Attachment,
  from: number,
  limit: number
): Promise<{ pos: number, congested: boolean }> {
  return await new Promise((resolve) => {
    let pos = from
    let congested = false
    const stop = (): void => {
      download.unsubscribe(listener)
      unwatch()
      resolve({ pos, congested })
    }
    const listener: DownloadListener = {
      onData (chunk, offset) {
        const end = offset + chunk.length
        if (end <= pos || pos >= limit) return
        const begin = pos - offset
        const stopAt = Math.min(chunk.length, limit - offset)
        const piece = begin === 0 && stopAt === chunk.length ? chunk : chunk.subarray(begin, stopAt)
        pos += piece.length
        if (!res.write(piece)) congested = true
        if (congested || pos >= limit) stop()
      },
      onSettled: stop
    }
    download.subscribe(listener)
    const unwatch = whenOver(res, stop)
  })
}
