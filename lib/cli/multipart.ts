import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { CommandError } from '../errors'
import type { RawBody } from './client'
import { readSmallFile, SMALL_FILE } from './local-tree'
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

  async function * generate (): AsyncGenerator<Buffer> {
    for (const [i, file] of files.entries()) {
      yield heads[i]
      let read = 0
      if (file.size > 0 && file.size <= SMALL_FILE) {
        const bytes = readSmallFile(file.path, file.size)
        read = bytes.length
        onBytes(read)
        yield bytes
      } else if (file.size > 0) {
        const chunks = createReadStream(file.path, {
          end: file.size - 1, highWaterMark: Math.min(READ_CHUNK, file.size)
        }) as AsyncIterable<Buffer>
        for await (const chunk of chunks) {
          read += chunk.length
          onBytes(chunk.length)
          yield chunk
        }
      }
      if (read !== file.size) throw new CommandError(`${file.path} changed while it was pushed (${read} of ${file.size} bytes); push again`)
      yield CRLF
    }
    yield tail
  }
  return { body: Readable.from(generate(), { objectMode: false }), length, contentType: `multipart/form-data; boundary=${boundary}` }
}
