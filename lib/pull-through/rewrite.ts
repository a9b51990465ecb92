import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import createDebug from 'debug'
import type { TempFiles } from '../artifacts/temp-files'
import { validateRelativePath } from '../core/validate'
import { UpstreamError } from '../errors'
import type { Remote, RemoteBinding, RewriteContext } from '../plugins/remote'
import type { StoredBinding } from '../storage/remote-bindings'
import type { Download } from './download'

const debug = createDebug('pulp:content:pull-through:rewrite')

/** The largest index body rewritten: it is read whole into memory. */
export const MAX_REWRITTEN_BYTES = 64 * 1024 * 1024

const ALGORITHMS = new Set(['sha256', 'sha512', 'sha1'])
const HEX = /^[0-9a-f]+$/i

/** A rewritten body, written to a temp file of its own, ready to be adopted by the store. */
export interface Rewritten {
  tmpPath: string
  sha256: string
  size: number
  contentType: string | null
  bindings: StoredBinding[]
}

/** The error a client of a body too large to rewrite gets (502), naming the remote and the cap. */
export function tooLarge (remoteName: string, relativePath: string, size: number): UpstreamError {
  return new UpstreamError(`remote "${remoteName}" sent ${size} bytes for "${relativePath}": more than the ${MAX_REWRITTEN_BYTES} an index may have to be rewritten`)
}

function checkBinding (b: RemoteBinding, typeName: string): StoredBinding {
  validateRelativePath(b?.relativePath, `${typeName}.rewriteMetadata binding relativePath`)
  let url: URL
  try {
    url = new URL(b.url)
  } catch {
    throw new TypeError(`${typeName}.rewriteMetadata: the binding of "${b.relativePath}" has no absolute URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${typeName}.rewriteMetadata: the binding of "${b.relativePath}" is not an http(s) URL`)
  }
  const d = b.digest
  if (d === undefined) return { relativePath: b.relativePath, url: url.href }
  if (!ALGORITHMS.has(d.algorithm) || typeof d.hex !== 'string' || !HEX.test(d.hex)) {
    throw new TypeError(`${typeName}.rewriteMetadata: the digest of "${b.relativePath}" is not sha256/sha512/sha1 in hex`)
  }
  return { relativePath: b.relativePath, url: url.href, digest: { algorithm: d.algorithm, hex: d.hex.toLowerCase() } }
}

/**
 * Runs the remote type's `rewriteMetadata` over a completed download and writes what it gave
 * to a temp file (the caller adopts it and releases the name). A hook that throws or answers
 * nonsense is a 502 naming the remote; the upstream body is never served in its place.
 */
export async function rewriteDownload (instance: Remote, download: Download, context: RewriteContext, temp: TempFiles): Promise<Rewritten> {
  const { remote, relativePath, head } = download
  const typeName = (instance.constructor as { name?: string }).name ?? 'the remote type'
  const size = download.spool.received
  if (size > MAX_REWRITTEN_BYTES) throw tooLarge(remote.name, relativePath, size)
  if (head?.contentEncoding !== undefined) {
    throw new UpstreamError(`remote "${remote.name}" sent "${relativePath}" with Content-Encoding ${head.contentEncoding}: an index is rewritten only as plain bytes`)
  }
  const raw = await readFile(download.tmpPath)
  let result
  let bindings: StoredBinding[]
  try {
    result = await (instance.rewriteMetadata as NonNullable<Remote['rewriteMetadata']>)(relativePath, raw, context)
    bindings = (result?.bindings ?? []).map((b) => checkBinding(b, typeName))
  } catch (err: unknown) {
    throw new UpstreamError(`remote "${remote.name}": ${typeName} could not rewrite "${relativePath}": ${(err as Error).message}`, { cause: err })
  }
  const body = result === null || result === undefined ? raw : Buffer.isBuffer(result.body) ? result.body : Buffer.from(String(result.body))
  const tmpPath = temp.create('pull')
  await writeFile(tmpPath, body)
  const sha256 = createHash('sha256').update(body).digest('hex')
  debug('%s: %s rewritten (%d -> %d bytes, %d bindings)', remote.name, relativePath, size, body.length, bindings.length)
  return { tmpPath, sha256, size: body.length, contentType: result?.contentType ?? head?.contentType ?? null, bindings }
}
