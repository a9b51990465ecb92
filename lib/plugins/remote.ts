import type { IncomingMessage } from 'node:http'
import { FileContent, type ContentTypeClass } from './content'
import { compilePathGlobs, type PathMatcher } from './path-globs'
import type { TypeMetadata } from './types'
import type { StoredDigest } from '../storage/remote-bindings'
import { DEFAULT_READ_TIMEOUT, type RemotePolicy, type RemoteSettings } from '../storage/remotes'

// Defined beside the rows they describe (storage never imports plugins); part of this interface.
export type { RemotePolicy, RemoteSettings }

/**
 * How the pull-through keeps a path: `immutable` is saved once and served for ever (and joins
 * the distribution's repository), `metadata` is saved with the upstream's validators and
 * revalidated after `metadataTtl`, `streamed` is never saved.
 */
export type Freshness = 'immutable' | 'metadata' | 'streamed'

/** A digest the bytes of a path must have, known from an index (a Release file, a PEP 503 page, ...). */
export type UpstreamDigest = StoredDigest

/** Where a path comes from upstream, and what its bytes must hash to when that is known. */
export interface UpstreamTarget {
  url: string
  digest?: UpstreamDigest
  /**
   * The representation of a metadata path this request gets (PEP 691 JSON or HTML, npm's
   * abbreviated or full packument): copies of each variant are cached and fetched apart, and
   * their responses carry `Vary: Accept`. Default `''`, the one representation.
   */
  variant?: string
  /** The `Accept` header sent upstream for this target (never the client's own). */
  accept?: string
}

/** What `getUpstreamTarget` may consult. */
export interface UpstreamContext {
  /** The body this remote's cache holds for a metadata path (fresh or not) and variant (default `''`), or null. */
  readCachedMetadata: (relativePath: string, variant?: string) => Promise<Buffer | null>
  /**
   * The upstream URL and digest a rewritten index recorded for `relativePath` (see
   * `rewriteMetadata`), or null when no index this remote served ever listed it. The only
   * source of a bound path's URL: nothing in the client's request is ever one.
   */
  readBinding: (relativePath: string) => Promise<UpstreamTarget | null>
  /**
   * Makes sure this remote's cache holds the metadata path `relativePath` (an index whose
   * rewrite binds the path asked for) and that its bindings are recorded, then resolves: the
   * path is fetched from the URL this type's `getUpstreamTarget` gives for it (asked with
   * `forBindings` true), through the cache as a client's request would be (a fresh copy or
   * a remembered 404 is not fetched again; one fetch with concurrent requests; the remote's
   * health; an expired copy's bindings while the upstream fails). Then `readBinding` again.
   * Rejects with the upstream's failure when there is no copy to fall back on. At most one
   * call per request, and none while a target is asked for `forBindings`.
   */
  ensureMetadata: (relativePath: string) => Promise<void>
  /**
   * True when the target is asked by `ensureMetadata`: no client gets this fetch's answer,
   * only its bindings matter, so a type with several variants may pick its cheapest.
   */
  forBindings?: boolean
  /** The URL path of the distribution's base, with its trailing slash (`/pulp/content/pypi/`). */
  basePath: string
  /**
   * The option `contentOrigin` (`https://mirror.example.com`): where clients reach the content,
   * for types that write absolute URLs. Undefined when not set: such a type then uses the
   * request's own origin.
   */
  contentOrigin?: string
  /** The client's request (for its `Accept`, never forwarded as is). */
  request: IncomingMessage
}

/** A path a rewritten index points at, and where its bytes really are. */
export interface RemoteBinding {
  /** Relative to the remote, like every path its hooks see (`foo/foo-1.0.tar.gz`). */
  relativePath: string
  /** Absolute upstream URL. */
  url: string
  digest?: UpstreamDigest
}

/** What `rewriteMetadata` is told about the body it rewrites. */
export interface RewriteContext {
  /** The variant of the target fetched (`''` for none). */
  variant: string
  /** The upstream's Content-Type, if it sent one. */
  contentType: string | undefined
  /** The upstream URL fetched: relative links on the page resolve against it. */
  url: string
  /** The URL path of the distribution's base, with its trailing slash (`/pulp/content/pypi/`). */
  basePath: string
  /**
   * Where clients reach the content, for types that need absolute URLs: the option
   * `contentOrigin` when set, else scheme and host of the request that caused the fetch
   * (`http://127.0.0.1:8080`).
   */
  origin: string
}

/** An index rewritten to point at the distribution, and the bindings that make its links work. */
export interface RewrittenMetadata {
  /** What is cached and served for the path (with its own sha256 and ETag). */
  body: Buffer | string
  /** Default: the upstream's Content-Type. */
  contentType?: string
  /** Recorded with the copy, in the same transaction; the latest index listing a path wins. */
  bindings: RemoteBinding[]
}


/** A remote type as the registry holds it. */
export interface RemoteTypeClass<T extends Remote = Remote> {
  new (settings: RemoteSettings): T
  metadata: () => TypeMetadata
  defaultMetadataPatterns: () => string[]
  /** See `Remote.acceptsScopedNames`; a class without it takes none. */
  acceptsScopedNames?: () => boolean
}

/**
 * A remote: where a distribution pulls what its static tree does not have. Subclasses give a
 * static `metadata()` (`id`, `displayName`) of their own and may override the hooks: the URL
 * and content type of a path, as pulpcore's remotes do, its freshness class, and its upstream
 * target (URL plus the digest an index gives, which verifies the bytes).
 *
 * @example
 * class MetaRemote extends FileRemote {
 *   static metadata () { return { id: 'meta-file', displayName: 'Files with streamed metadata' } }
 *   getRemoteArtifactContentType (relativePath: string) { return relativePath.endsWith('.meta') ? null : FileContent }
 * }
 * pulp.registry.registerRemoteType(MetaRemote)
 */
export class Remote implements RemoteSettings {
  /**
   * Optional hook: rewrites a metadata body fetched from the upstream (a 200), once, before
   * it is saved and served, and names the paths its links now point at (`bindings`). Clients
   * of that fetch get the rewritten bytes; a 304 keeps the rewritten copy. `null` keeps the
   * body as it came. A throw answers 502 and saves nothing.
   */
  rewriteMetadata? (
    relativePath: string,
    body: Buffer,
    context: RewriteContext
  ): RewrittenMetadata | null | Promise<RewrittenMetadata | null>

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
  /** The patterns in force: the remote's own, else its type's default. */
  readonly metadataPatterns: readonly string[]
  readonly metadataTtl: number
  readonly staleIfError: number
  readonly maxFailures: number
  readonly #isMetadata: PathMatcher

  /** The globs of paths that are metadata when a remote sets none (`metadata_patterns: null`). */
  static defaultMetadataPatterns (): string[] {
    return []
  }

  /**
   * Whether request paths under this type's distributions may name an npm scoped package as
   * one segment with its slash encoded, `@scope%2fname` (npm asks a registry for exactly
   * that). The content path parser accepts that one encoded slash, only in that form and only
   * below the base path, and hands the type the relative path `@scope/name` (plus whatever
   * follows); every other encoded separator, and this one under any other type, answers 400.
   * Default: false.
   */
  static acceptsScopedNames (): boolean {
    return false
  }

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
    const type = this.constructor as Partial<RemoteTypeClass>
    this.metadataPatterns = Object.freeze([...(settings.metadataPatterns ?? type.defaultMetadataPatterns?.() ?? [])])
    this.metadataTtl = settings.metadataTtl
    this.staleIfError = settings.staleIfError
    this.maxFailures = settings.maxFailures
    this.#isMetadata = compilePathGlobs(this.metadataPatterns)
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

  /**
   * The class of a path. Default: `streamed` under the `streamed` policy or for a content type
   * of null; `metadata` for a path matching `metadataPatterns` or ending in `/` (a listing or
   * index page is never a unit); else `immutable`.
   */
  getFreshness (relativePath: string): Freshness {
    if (this.policy === 'streamed' || this.getRemoteArtifactContentType(relativePath) === null) return 'streamed'
    if (relativePath.endsWith('/') || this.#isMetadata(relativePath)) return 'metadata'
    return 'immutable'
  }

  /**
   * Where `relativePath` comes from and, when an index says so, the digest its bytes must have:
   * a cached copy that does not match is fetched again, and a fetched body that does not match
   * is never saved (its client's connection is cut). `null`: the upstream has no such path
   * (404, nothing asked). Default: `getRemoteArtifactUrl`, no digest.
   */
  async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    return { url: this.getRemoteArtifactUrl(relativePath, context.request) }
  }
}

/** The built-in `file` remote type: a plain directory of files over HTTP(S). */
export class FileRemote extends Remote {
  static metadata (): TypeMetadata {
    return { id: 'file', displayName: 'File' }
  }

  /** A `web` distributor's manifest lists the units of the moment: it changes, they do not. */
  static override defaultMetadataPatterns (): string[] {
    return ['PULP_MANIFEST', '**/PULP_MANIFEST']
  }
}
