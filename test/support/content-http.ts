import { request, type IncomingHttpHeaders } from 'node:http'

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/**
 * Sends a request with its target exactly as given: no client-side URL normalisation, which
 * would turn `/a/../b` into `/b` before the server ever saw it.
 */
export async function rawRequest (
  port: number,
  target: string,
  { method = 'GET', headers = {} }: { method?: string, headers?: Record<string, string> } = {}
): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

export interface BodyPart {
  headers: Record<string, string>
  body: Buffer
}

/** Splits a `multipart/byteranges` body into its parts, checking the framing as it goes. */
export function parseMultipart (body: Buffer, contentType: string): BodyPart[] {
  const match = /boundary=("?)([^";]+)\1/.exec(contentType)
  if (match === null) throw new Error(`no boundary in ${contentType}`)
  const delimiter = Buffer.from(`--${match[2]}`)
  const parts: BodyPart[] = []
  let at = body.indexOf(delimiter)
  if (at === -1) throw new Error('no first delimiter')
  for (;;) {
    at += delimiter.length
    if (body.subarray(at, at + 2).toString() === '--') break
    if (body.subarray(at, at + 2).toString() !== '\r\n') throw new Error('delimiter not followed by CRLF')
    const headEnd = body.indexOf('\r\n\r\n', at)
    const headers: Record<string, string> = {}
    for (const line of body.subarray(at + 2, headEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4)
    if (next === -1) throw new Error('unterminated part')
    parts.push({ headers, body: body.subarray(headEnd + 4, next) })
    at = next + 2
  }
  return parts
}
