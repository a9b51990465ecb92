import { UpstreamError } from '../../errors'
import type { UpstreamDigest } from '../remote'
import { distDigest } from './integrity'
import { tarballPath } from './paths'

/** A tarball path of the mirror and where its bytes are upstream. */
export interface TarballBinding {
  relativePath: string
  url: string
  digest?: UpstreamDigest
}

export interface RewrittenPackument {
  body: string
  bindings: TarballBinding[]
}

export interface PackumentRewrite {
  /** The package the path named (the document's own `name` is not trusted for paths). */
  name: string
  /** The upstream URL the packument came from: a relative `dist.tarball` resolves against it. */
  url: string
  /** Absolute URL of the distribution's base, trailing slash included: what tarball paths are appended to. */
  tarballBase: string
}

/**
 * A packument (full or abbreviated: both list `versions[v].dist`) with every `dist.tarball`
 * pointing at the mirror, `<tarballBase><name>/-/<name without scope>-<version>.tgz`, and the
 * binding of each such path to the upstream URL and the digest `dist` gives. A version whose
 * tarball URL is not http(s), or whose version no path can name, keeps no `dist.tarball`: a
 * client never goes around the mirror. Everything else in the document is kept as it is.
 * A body that is not a JSON object is an UpstreamError (502).
 */
export function rewritePackument (body: Buffer, options: PackumentRewrite): RewrittenPackument {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch (err: unknown) {
    throw new UpstreamError(`the packument of "${options.name}" is not JSON: ${(err as Error).message}`)
  }
  if (!isObject(doc)) throw new UpstreamError(`the packument of "${options.name}" is not a JSON object`)
  const bindings: TarballBinding[] = []
  const versions = isObject(doc.versions) ? doc.versions : {}
  for (const [version, manifest] of Object.entries(versions)) {
    if (!isObject(manifest) || !isObject(manifest.dist)) continue
    const { dist } = manifest
    if (!('tarball' in dist)) continue
    const upstream = upstreamUrl(dist.tarball, options.url)
    const relativePath = tarballPath(options.name, version)
    if (upstream === null || relativePath === null) {
      delete dist.tarball
      continue
    }
    dist.tarball = options.tarballBase + relativePath
    const digest = distDigest(dist)
    bindings.push(digest === undefined ? { relativePath, url: upstream } : { relativePath, url: upstream, digest })
  }
  return { body: JSON.stringify(doc), bindings }
}

function upstreamUrl (tarball: unknown, base: string): string | null {
  if (typeof tarball !== 'string') return null
  try {
    const url = new URL(tarball, base)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null
  } catch {
    return null
  }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
