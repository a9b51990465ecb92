import http from 'node:http'
import { createHash } from 'node:crypto'

/** An upload whose body the test sends in parts, so it can be caught (or killed) half-way. */
export interface SlowUpload {
  /** Sends more bytes of the file. */
  send: (bytes: Buffer) => Promise<void>
  /** Sends the rest of the body and resolves with the status and parsed answer. */
  finish: () => Promise<{ status: number, body: unknown }>
  /** The sha256 of every file byte sent so far. */
  sha256: () => string
  /** Resolves with the status, or null when the connection broke. */
  answered: Promise<{ status: number, body: unknown } | null>
}

/** Starts a multipart upload of `size` bytes to `<baseUrl>/api/v1/repositories/<repo>/content`. */
export function slowUpload (baseUrl: string, repo: string, relativePath: string, size: number): SlowUpload {
  const boundary = 'slowuploadboundary'
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="relative_path"\r\n\r\n${relativePath}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const url = new URL(`${baseUrl}/api/v1/repositories/${repo}/content`)
  const req = http.request({
    host: url.hostname, port: url.port, method: 'POST', path: url.pathname, agent: false,
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': head.length + size + tail.length }
  })
  const hash = createHash('sha256')
  let sent = 0
  const answered = new Promise<{ status: number, body: unknown } | null>((resolve) => {
    req.on('response', (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? null : JSON.parse(text) }))
      res.on('error', () => resolve(null))
    })
    req.on('error', () => resolve(null))
  })
  req.write(head)
  const send = async (bytes: Buffer): Promise<void> => {
    hash.update(bytes)
    sent += bytes.length
    if (!req.write(bytes)) await new Promise((resolve) => req.once('drain', resolve))
  }
  return {
    send,
    answered,
    sha256: () => hash.copy().digest('hex'),
    async finish () {
      if (sent < size) await send(Buffer.alloc(size - sent, 7))
      req.end(tail)
      const answer = await answered
      if (answer === null) throw new Error('the upload connection broke')
      return answer
    }
  }
}
