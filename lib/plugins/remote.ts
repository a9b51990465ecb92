import type { IncomingMessage } from 'node:http'
import { FileContent, type ContentTypeClass } from './content'
import type { TypeMetadata } from './types'
import { DEFAULT_READ_TIMEOUT } from '../storage/remotes'

/** `on_demand` saves what it pulls; `streamed` passes it through and saves nothing. */
export type RemotePolicy = 'on_demand' | 'streamed'

/** A stored remote, with its real header values: what a remote type is built from. */
export interface RemoteSettings {
  readonly name: string
  readonly url: string
  readonly remoteTypeId: string
  readonly headers: Readonly<Record<string, string>>
  readonly policy: RemotePolicy
  /** Seconds; null for undici's default. */
  readonly connectTimeout: number | null
  /** Seconds for a whole upstream request, body included; null for none. */
  readonly totalTimeout: number | null
  /**
   * Seconds the upstream may send nothing (before its headers, or within its body) before the
   * request fails; a stored remote always has one, default 30.
   */
  readonly readTimeout?: number
  readonly proxyUrl: string | null
  readonly tlsValidation: boolean
  /** Seconds an upstream 404 is remembered; null or 0 for never. */
  readonly negativeCacheTtl: number | null
}

/** A remote type as the registry holds it. */
export interface RemoteTypeClass<T extends Remote = Remote> {
  new (settings: RemoteSettings): T
  metadata: () => TypeMetadata
}

/**
 * A remote: where a distribution pulls what its static tree does not have. Subclasses give a
 * static `metadata()` (`id`, `displayName`) of their own and may override the two hooks, as
 * pulpcore's remotes do.
 *
 * @example
 * class MetaRemote extends FileRemote {
 *   static metadata () { return { id: 'meta-file', displayName: 'Files with streamed metadata' } }
 *   getRemoteArtifactContentType (relativePath: string) { return relativePath.endsWith('.meta') ? null : FileContent }
 * }
 * pulp.registry.registerRemoteType(MetaRemote)
 */
export class Remote implements RemoteSettings {
  readonly name: string
  readonly url: string
  readonly remoteTypeId: string
  readonly headers: Readonly<Record<string, string>>
  readonly policy: RemotePolicy
  readonly connectTimeout: number | null
  readonly totalTimeout: number | null
  readonly readTimeout: number
  readonly proxyUrl: string | null
  readonly tlsValidation: boolean
  readonly negativeCacheTtl: number | null

  constructor (settings: RemoteSettings) {
    this.name = settings.name
    this.url = settings.url
    this.remoteTypeId = settings.remoteTypeId
    this.headers = Object.freeze({ ...settings.headers })
    this.policy = settings.policy
    this.connectTimeout = settings.connectTimeout
    this.totalTimeout = settings.totalTimeout
    this.readTimeout = settings.readTimeout ?? DEFAULT_READ_TIMEOUT
    this.proxyUrl = settings.proxyUrl
    this.tlsValidation = settings.tlsValidation
    this.negativeCacheTtl = settings.negativeCacheTtl
  }

  /**
   * The upstream URL of `relativePath`. The default treats `url` as a directory (a missing
   * trailing slash is added; its query is kept) and appends the path, each segment
   * percent-encoded.
   */
  getRemoteArtifactUrl (relativePath: string, _req?: IncomingMessage): string {
    if (typeof relativePath !== 'string' || relativePath.startsWith('/')) {
      throw new RangeError(`getRemoteArtifactUrl: relativePath must be relative, got ${JSON.stringify(relativePath)}`)
    }
    const url = new URL(this.url)
    url.hash = ''
    const dir = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`
    // Already-encoded segments of the base stay as they are; the path's own are encoded here.
    url.pathname = dir + relativePath.split('/').map(encodeURIComponent).join('/')
    return url.toString()
  }

  /**
   * The content type a path becomes once downloaded, or `null` for metadata that is only
   * streamed and never saved. The default saves everything as `file` content.
   */
  getRemoteArtifactContentType (_relativePath: string): ContentTypeClass | null {
    return FileContent
  }
}

/** The built-in `file` remote type: a plain directory of files over HTTP(S). */
export class FileRemote extends Remote {
  static metadata (): TypeMetadata {
    return { id: 'file', displayName: 'File' }
  }
}
