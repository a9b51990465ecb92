import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { CommandError } from '../errors'
import type { RawBody } from './client'
import { readInto, SMALL_FILE } from './local-tree'
import type { FileStamp } from './digest-cache'

export interface LocalFile {
  /** Where the unit goes in the repository, `/`-separated. */
  relativePath: string
  /** The file on disk. */
  path: string
  size: number
  /** How it stood when listed (for the digests `push` remembers). */
  stamp?: FileStamp
}

/** Reads of up to 1 MiB: a large file goes out in few chunks, a small one in one. */
const READ_CHUNK = 1024 * 1024

/** Small files' parts are sent in chunks of about this many bytes (see `generate`). */
const COALESCE = 256 * 1024

// The WHATWG form encoding: these three are the only characters escaped in a part's name.
const quote = (value: string): string => value.replace(/[\r\n"]/g, (c) => encodeURIComponent(c))

/**
 * A `multipart/form-data` body for the upload endpoint: per file a `relative_path` field, then
 * the `file` part, read from disk as the body is sent (never held whole in memory). Written
 * here rather than with undici's FormData because its length is known up front (sent as
 * Content-Length) and every chunk read is reported to `onBytes`, which feeds the progress bar.
 * A file whose size changed since it was listed fails the request rather than send other bytes.
 */
export function multipartBody (files: readonly LocalFile[], onBytes: (n: number) => void = () => {}): RawBody {
  const boundary = `----pulp-middleware-${randomBytes(12).toString('hex')}`
  const heads = files.map((file) => Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="relative_path"\r\n\r\n${file.relativePath}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(path.posix.basename(file.relativePath))}"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n'
  ))
  const tail = Buffer.from(`--${boundary}--\r\n`)
  const CRLF = Buffer.from('\r\n')
  const length = heads.reduce((n, head, i) => n + head.length + files[i].size + CRLF.length, tail.length)

  const changed = (file: LocalFile, read: string): CommandError =>
    new CommandError(`${file.path} changed while it was pushed (${read} of ${file.size} bytes); push again`)

  /**
   * Small files go out gathered into chunks of about COALESCE bytes, heads and all, each file
   * read straight into its place (open, one read, close). Yielded one piece at a time, each
   * file cost the socket three writes, and a buffer of its own to be copied once more.
   */
  function * gathered (from: number, to: number, last: boolean): Generator<Buffer> {
    let size = last ? tail.length : 0
    for (let i = from; i < to; i++) size += heads[i].length + files[i].size + CRLF.length
    // One byte to spare: a file's read asks for one more than its size, to see that it grew.
    const chunk = Buffer.allocUnsafe(size + 1)
    let at = 0
    for (let i = from; i < to; i++) {
      const file = files[i]
      at += heads[i].copy(chunk, at)
      const read = readInto(file.path, chunk, at, file.size + 1)
      if (read !== file.size) throw changed(file, read > file.size ? 'more' : String(read))
      onBytes(read)
      at += read
      at += CRLF.copy(chunk, at)
    }
    if (last) at += tail.copy(chunk, at)
    yield chunk.subarray(0, at)
  }

  async function * generate (): AsyncGenerator<Buffer> {
    let from = 0
    let bytes = 0
    for (const [i, file] of files.entries()) {
      if (file.size <= SMALL_FILE) {
        bytes += file.size
        if (bytes >= COALESCE) {
          yield * gathered(from, i + 1, i === files.length - 1)
          from = i + 1
          bytes = 0
        }
        continue
      }
      if (from < i) yield * gathered(from, i, false)
      from = i + 1
      bytes = 0
      yield heads[i]
      let read = 0
      const chunks = createReadStream(file.path, {
        end: file.size - 1, highWaterMark: Math.min(READ_CHUNK, file.size)
      }) as AsyncIterable<Buffer>
      for await (const chunk of chunks) {
        read += chunk.length
        onBytes(chunk.length)
        yield chunk
      }
      if (read !== file.size) throw changed(file, String(read))
      yield CRLF
    }
    if (from < files.length) yield * gathered(from, files.length, true)
    else yield tail
  }
  return { body: Readable.from(generate(), { objectMode: false }), length, contentType: `multipart/form-data; boundary=${boundary}` }
}
