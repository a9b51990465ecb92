import { randomBytes } from 'node:crypto'
import { closeSync, constants, createReadStream, fstatSync, open, read, type Stats } from 'node:fs'
import { open as openHandle } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import createDebug from 'debug'
import fresh from 'fresh'
import mime from 'mime-types'
import parseRange from 'range-parser'
import type { FrontServer } from './accel'
import { whenOver } from './response-over'

const debug = createDebug('pulp:content:static')

/** More ranges than this in one request is abuse, not a download manager: serve it whole. */
const MAX_RANGES = 64

/** Bodies up to this size are read into memory and sent in one write. */
const SMALL_BODY = 64 * 1024

/**
 * Bodies up to this size are also read whole while the ones in flight hold less than
 * WHOLE_BUDGET: one read and one write instead of a stream's many (1 MiB files at 10
 * connections: ~35 % less CPU per request). Past the budget (many large responses at once)
 * they stream, so memory stays bounded.
 */
const WHOLE_BODY = 1024 * 1024
const WHOLE_BUDGET = 16 * 1024 * 1024

/**
 * One middleware instance's budget and buffers for bodies read whole (each instance has its
 * own: two in one process share nothing). Buffers are reused: a fresh 1 MiB buffer is a fresh
 * mapping whose pages the kernel zeroes on first touch, which cost more than the read itself
 * at 100 connections. A buffer comes back only once its response is over, when nothing still
 * writes from it.
 */
export class WholeBodies {
  #inFlight = 0
  readonly #buffers: Buffer[] = []

  /** Bytes of whole bodies read into memory and not yet sent (for tests and diagnostics). */
  get bytesInFlight (): number { return this.#inFlight }

  /** A buffer for `length` bytes, or undefined when the budget is spent (stream the body). */
  take (length: number): Buffer | undefined {
    if (length > WHOLE_BODY || this.#inFlight + length > WHOLE_BUDGET) return undefined
    this.#inFlight += length
    return this.#buffers.pop() ?? Buffer.allocUnsafeSlow(WHOLE_BODY)
  }

  give (buffer: Buffer, length: number): void {
    this.#inFlight -= length
    if (this.#buffers.length < WHOLE_BUDGET / WHOLE_BODY) this.#buffers.push(buffer)
  }
}

/**
 * Read size for streamed bodies: twice fs's default halves the reads and writes of a large
 * download (measured at ~1.2x express.static's rate on 1 MiB files) for at most two chunks
 * held per response.
 */
const STREAM_CHUNK = 128 * 1024

export interface SendFileTarget {
  /** Path to open; the caller has already resolved and checked it. Its last component is not followed if a link. */
  path: string
  /**
   * The caller's stat of the file it checked: sendFile never stats `path` again, and serves
   * bytes only from a descriptor whose device and inode are these (else FileChangedError).
   */
  stat: Stats
  /**
   * A further check of the descriptor just opened, before anything is sent (see openedWithin):
   * false closes it and sendFile rejects with FileChangedError.
   */
  accept?: (fd: number) => boolean
  /** A quoted strong ETag (`"<sha256>"`); without one a weak ETag comes from size and mtime. */
  etag?: string
  /** Overrides the type looked up from `name`. */
  contentType?: string
  /** The name the client asked for, for the type lookup. */
  name: string
  /** More headers for every answer (200, 206, 304, 412, 416), kept out of `res` until it is sent. */
  headers?: OutgoingHttpHeaders
  /** The whole file's bytes kept in memory by the caller (see BodyMemo); omitted: read from the file. */
  memo?: BodyMemo
}

/**
 * A small file's bytes kept by the caller between requests: a whole 200 is sent from `body`
 * without opening the file, and the bytes read from a checked descriptor go to `keep`. The
 * caller answers for `body` still being the file's (an immutable artifact whose stat is unchanged).
 */
export interface BodyMemo {
  body: Buffer | undefined
  keep: (body: Buffer) => void
}

export interface SendFileOptions {
  /** The Cache-Control header, or `false` for none. */
  cacheControl: string | false
  /** Hands files of at least its `minSize` to the front server (the `accel` option); omitted: every body is sent here. */
  accel?: FrontServer
  /** The instance's budget for bodies up to 1 MiB read whole; omitted: only bodies up to 64 KiB are. */
  whole?: WholeBodies
}

interface Range { start: number, end: number }

/**
 * The file opened is not the one its caller checked: a link or another file took its place.
 * Nothing has been sent; the caller resolves the path again or answers not found.
 */
export class FileChangedError extends Error {
  constructor (path: string) {
    super(`${path} is no longer the file that was checked`)
    this.name = 'FileChangedError'
  }
}

/**
 * No link is followed at the last component (a file swapped for one fails with ELOOP), and a
 * FIFO put in a file's place cannot block the open.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)

/**
 * Answers a GET or HEAD for one regular file with RFC 9110 semantics: validators,
 * conditional requests (412, 304), byte ranges (206, multipart/byteranges, 416) and If-Range.
 *
 * With `options.accel`, a file of at least its `minSize` that the front server would answer
 * as we would goes out as headers and an internal redirect, no body (see frontServerAgrees).
 *
 * Resolves with the body bytes sent (0 for 304, 412, 416 and HEAD; for a redirect, the bytes
 * the front server is asked to send) once the response is done or the client has gone (a
 * client that left early counts what was announced). Rejects only while nothing has been
 * sent (the file could not be opened or read, or is not the one checked), so the caller can
 * still answer.
 *
 * @example
 * const st = await fs.promises.stat(file)
 * await sendFile(req, res, { path: file, stat: st, name: 'a.txt' }, { cacheControl: 'no-cache' })
 */
export async function sendFile (
  req: IncomingMessage,
  res: ServerResponse,
  file: SendFileTarget,
  options: SendFileOptions
): Promise<number> {
  const { stat } = file
  const size = stat.size
  const etag = file.etag ?? weakEtag(stat)
  // HTTP dates have whole seconds; comparisons use the same precision as the header.
  const modifiedSeconds = Math.floor(stat.mtimeMs / 1000) * 1000
  const lastModified = new Date(modifiedSeconds).toUTCString()
  const headers: OutgoingHttpHeaders = {
    ...file.headers,
    'accept-ranges': 'bytes',
    etag,
    'last-modified': lastModified,
    'x-content-type-options': 'nosniff'
  }
  if (options.cacheControl !== false) headers['cache-control'] = options.cacheControl
  const h = req.headers

  // RFC 9110 13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else
  // If-Modified-Since; then Range with If-Range.
  if (h['if-match'] !== undefined) {
    if (!matchesStrongly(h['if-match'], etag)) return finish(res, 412, headers)
  } else if (h['if-unmodified-since'] !== undefined) {
    const since = Date.parse(h['if-unmodified-since'])
    if (!Number.isNaN(since) && modifiedSeconds > since) return finish(res, 412, headers)
  }
  if ((h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) &&
      fresh(h, { etag, 'last-modified': lastModified })) {
    return finish(res, 304, headers)
  }

  const type = file.contentType ?? (mime.contentType(file.name) || 'application/octet-stream')
  let ranges: Range[] | undefined
  // Range is defined for GET only (RFC 9110 14.2); for HEAD it is ignored.
  if (h.range !== undefined && req.method === 'GET' && ifRangeHolds(h['if-range'], etag, lastModified)) {
    const parsed = parseByteRanges(size, h.range)
    if (parsed === 'unsatisfiable') {
      headers['content-range'] = `bytes */${size}`
      return finish(res, 416, headers)
    }
    ranges = parsed
  }

  const { accel } = options
  if (accel !== undefined && size >= accel.minSize && frontServerAgrees(req, ranges, etag, file)) {
    const target = await locateChecked(file, accel)
    if (target !== undefined) {
      headers['content-type'] = type
      headers['content-length'] = size
      headers[accel.header] = target
      // The front server adds its own; the body announced is its to send, and a client that
      // reached us directly must not wait on this connection for bytes that never come.
      delete headers['accept-ranges']
      headers.connection = 'close'
      res.writeHead(200, headers)
      res.end()
      return ranges === undefined ? size : ranges[0].end - ranges[0].start + 1
    }
  }

  if (ranges === undefined) {
    headers['content-type'] = type
    headers['content-length'] = size
    if (req.method === 'HEAD') return finish(res, 200, headers)
    await stream(res, file, 200, headers, 0, size - 1, options.whole)
    return size
  }
  if (ranges.length === 1) {
    const { start, end } = ranges[0]
    headers['content-type'] = type
    headers['content-range'] = `bytes ${start}-${end}/${size}`
    headers['content-length'] = end - start + 1
    await stream(res, file, 206, headers, start, end, options.whole)
    return end - start + 1
  }
  await streamMultipart(res, file, headers, type, size, ranges)
  return Number(headers['content-length'])
}

/**
 * Whether the front server, which evaluates the request's conditionals and Range again against
 * the file, answers what we would (see docs/serving-with-nginx.md): a GET (HEAD is headers
 * only, answered here), no If-Match or If-Unmodified-Since (nginx compares them with its own
 * validators and an unparsable date), no Range or exactly one range we would serve (several
 * are multipart, answered here), an If-Range only against a strong ETag (nginx would accept a
 * weak one), and no Content-Encoding (not carried across an internal redirect).
 */
function frontServerAgrees (req: IncomingMessage, ranges: Range[] | undefined, etag: string, file: SendFileTarget): boolean {
  const h = req.headers
  if (req.method !== 'GET' || h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined) return false
  if (file.headers?.['content-encoding'] !== undefined) return false
  if (h.range === undefined) return true
  return ranges?.length === 1 && !h.range.includes(',') && (h['if-range'] === undefined || !etag.startsWith('W/'))
}

/**
 * The front server's name for the file, once it is opened and checked like any file we send
 * (a refused one rejects with FileChangedError before anything is sent).
 */
async function locateChecked (file: SendFileTarget, accel: FrontServer): Promise<string | undefined> {
  const fd = await openChecked(file)
  try {
    return accel.locate(fd, file.path)
  } finally {
    closeFd(fd)
  }
}

function weakEtag (stat: Stats): string {
  return `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`
}

/** If-Match uses the strong comparison: a weak ETag never matches, `*` matches any file. */
function matchesStrongly (header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  if (etag.startsWith('W/')) return false
  for (const tag of header.split(',')) {
    if (tag.trim() === etag) return true
  }
  return false
}

/** If-Range: an ETag must match strongly, a date must equal Last-Modified exactly. */
function ifRangeHolds (header: string | string[] | undefined, etag: string, lastModified: string): boolean {
  if (header === undefined) return true
  if (typeof header !== 'string') return false
  const value = header.trim()
  if (value.startsWith('"') || value.startsWith('W/')) {
    return !etag.startsWith('W/') && value === etag
  }
  const date = Date.parse(value)
  return !Number.isNaN(date) && date === Date.parse(lastModified)
}

/**
 * The ranges to serve, `'unsatisfiable'`, or `undefined` when the header is to be ignored
 * (RFC 9110 14.2: an invalid Range or an unknown unit means the whole representation).
 */
function parseByteRanges (size: number, header: string): Range[] | 'unsatisfiable' | undefined {
  const eq = header.indexOf('=')
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined
  const parsed = parseRange(size, header, { combine: true })
  if (parsed === -1) return 'unsatisfiable'
  if (parsed === -2 || parsed.length > MAX_RANGES) return undefined
  return parsed
}

/** A response without a body; 412 and 416 say so with a zero length, 304 and HEAD must not. */
function finish (res: ServerResponse, status: number, headers: OutgoingHttpHeaders): 0 {
  if (status === 412 || status === 416) headers['content-length'] = 0
  res.writeHead(status, headers)
  res.end()
  return 0
}

function openFd (path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, OPEN_FLAGS, (err, fd) => { err === null ? resolve(fd) : reject(err) })
  })
}

/**
 * Whatever a cache remembers about a path, the bytes come from the file that was checked: one
 * fstat of the open descriptor (a syscall that touches no path) compares its identity.
 */
function isChecked (fd: number, file: SendFileTarget): boolean {
  const opened = fstatSync(fd)
  return opened.ino === file.stat.ino && opened.dev === file.stat.dev && (file.accept === undefined || file.accept(fd))
}

async function openChecked (file: SendFileTarget): Promise<number> {
  const fd = await openFd(file.path)
  let checked = false
  try {
    checked = isChecked(fd, file)
  } finally {
    if (!checked) closeFd(fd)
  }
  if (!checked) throw new FileChangedError(file.path)
  return fd
}

function readAt (fd: number, length: number, position: number, into: Buffer = Buffer.allocUnsafe(length)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    read(fd, into, 0, length, position, (err, bytes, buf) => {
      err === null ? resolve(buf.subarray(0, bytes)) : reject(err)
    })
  })
}

/**
 * Closing a descriptor we only read from never waits on a disk or a server, while a
 * thread-pool round trip for it cost as much as the open (~30 µs of the main thread per
 * small file under load, measured with bench/).
 */
function closeFd (fd: number): void {
  try {
    closeSync(fd)
  } catch (err: unknown) {
    debug('close failed: %s', (err as Error).message)
  }
}

async function stream (
  res: ServerResponse,
  file: SendFileTarget,
  status: number,
  headers: OutgoingHttpHeaders,
  start: number,
  end: number,
  whole: WholeBodies | undefined
): Promise<void> {
  if (end < start) { // an empty file: nothing to open
    res.writeHead(status, headers)
    res.end()
    return
  }
  const length = end - start + 1
  const memo = length === file.stat.size ? file.memo : undefined
  if (memo?.body !== undefined) {
    res.writeHead(status, headers)
    res.end(memo.body)
    return
  }
  // Opened before the status goes out, so a file that vanished can still get a 404.
  const fd = await openChecked(file)
  const into = length > SMALL_BODY ? whole?.take(length) : undefined
  if (length <= SMALL_BODY || into !== undefined) {
    // One read and one write: a stream's machinery would cost more than the bytes.
    let release = (): void => {}
    if (into !== undefined && whole !== undefined) {
      const buffer = into
      // Back once the response is over and the read filling it has finished, whichever comes
      // last: a client that leaves mid-read must not hand the buffer to another response
      // while the thread pool still writes this file into it.
      let pending = 2
      release = () => {
        if (--pending > 0) return
        whole.give(buffer, length)
      }
      whenOver(res, release)
    }
    let body: Buffer
    try {
      body = await readAt(fd, length, start, into)
    } finally {
      closeFd(fd)
      release()
    }
    if (body.length !== length) throw new Error(`${file.path} changed while being read`)
    // A pooled buffer goes back to its pool: only a body read into its own memory is kept.
    if (memo !== undefined && into === undefined) memo.keep(body)
    if (res.destroyed) return
    res.writeHead(status, headers)
    res.end(body)
    return
  }
  // The stream owns the descriptor from here and closes it when it ends or is destroyed.
  const body = createReadStream('', { fd, start, end, autoClose: true, highWaterMark: STREAM_CHUNK })
  res.writeHead(status, headers)
  // pipe rather than stream/promises' pipeline: pipeline builds an AbortController and a
  // DOMException per response, a measurable share of a small file's cost. The two
  // listeners below give the same guarantees: a client that leaves releases the
  // descriptor, and a failed read destroys the connection instead of ending it short.
  await new Promise<void>((resolve) => {
    body.on('error', (err) => {
      debug('read failed: %s', err.message)
      res.destroy(err)
    })
    res.on('error', (err) => { debug('response failed: %s', err.message) })
    whenOver(res, () => {
      body.destroy()
      resolve()
    })
    body.pipe(res)
  })
}

async function streamMultipart (
  res: ServerResponse,
  file: SendFileTarget,
  headers: OutgoingHttpHeaders,
  type: string,
  size: number,
  ranges: Range[]
): Promise<void> {
  const boundary = randomBytes(16).toString('hex')
  const heads = ranges.map(({ start, end }, i) => Buffer.from(
    `${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${type}\r\n` +
    `content-range: bytes ${start}-${end}/${size}\r\n\r\n`
  ))
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  let length = tail.length
  for (let i = 0; i < ranges.length; i++) length += heads[i].length + ranges[i].end - ranges[i].start + 1
  headers['content-type'] = `multipart/byteranges; boundary=${boundary}`
  headers['content-length'] = length

  // A FileHandle defers its close until pending reads finish, so one descriptor can serve
  // every part and still be closed safely when the client leaves half way.
  const handle = await openHandle(file.path, OPEN_FLAGS)
  try {
    if (!isChecked(handle.fd, file)) throw new FileChangedError(file.path)
    res.writeHead(206, headers)
    await drain(pipeline(async function * () {
      for (let i = 0; i < ranges.length; i++) {
        yield heads[i]
        yield * handle.createReadStream({ start: ranges[i].start, end: ranges[i].end, autoClose: false })
      }
      yield tail
    }, res))
  } finally {
    await handle.close()
  }
}

/**
 * Waits for a body to be sent. A client that goes away, or a read that fails half way,
 * leaves the connection destroyed by `pipeline` (never a short body that looks complete);
 * there is nobody left to answer, so the error stops here.
 */
async function drain (sending: Promise<void>): Promise<void> {
  try {
    await sending
  } catch (err: unknown) {
    debug('response not completed: %s', err instanceof Error ? err.message : String(err))
  }
}
