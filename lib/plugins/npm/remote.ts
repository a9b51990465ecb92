import createDebug from 'debug'
import { Remote, type Freshness, type RewriteContext, type RewrittenMetadata, type UpstreamContext, type UpstreamTarget } from '../remote'
import type { TypeMetadata } from '../types'
import { Memo } from '../memo'
import { rewritePackument } from './packument'
import { npmPathOf, packumentUrl, type NpmPath } from './paths'
import { OriginBound, requestOrigin } from './origin'
import { BINDINGS_VARIANT, packumentKind, packumentVariant, parsePackumentVariant, UPSTREAM_ACCEPT } from './variant'

const debug = createDebug('pulp:plugins:npm')

/**
 * The built-in `npm` remote type: an npm registry (`url` is its root, as `npm --registry`
 * takes it, e.g. `https://registry.npmjs.org/`), so that
 * `npm install --registry http://HOST/pulp/content/<base_path>/` installs through the
 * distribution.
 *
 * Paths: a packument at the package's name (`left-pad`; a scoped one as npm asks for it,
 * `@types%2fnode`, which this type accepts: see `acceptsScopedNames`), a tarball below it
 * (`left-pad/-/left-pad-1.3.0.tgz`); anything else answers 404 without asking the registry.
 *
 * Packuments are metadata (under any policy: they must be rewritten), cached apart for the
 * abbreviated (`application/vnd.npm.install-v1+json`) and the full document, and per origin: each
 * `dist.tarball` is rewritten to an absolute URL of the distribution (npm reads a relative one
 * as a local file), on the origin (scheme and Host) the client asked, so a client is never
 * handed another client's Host; at most `MAX_ORIGINS` origins per remote and instance.
 * Tarballs are immutable units, fetched only from the URL the packument that listed them
 * gave (recorded on the server, shared by instances) and verified against its
 * `dist.integrity` (sha512), else `dist.shasum` (sha1). A tarball asked before any packument
 * listed it (`npm ci` on a cold mirror) has the cache fetch its package's abbreviated
 * packument first (`ensureMetadata`, variant `BINDINGS_VARIANT`), then is looked up again.
 *
 * @example
 * await pulp.remotes.create({ name: 'npmjs', url: 'https://registry.npmjs.org/', remoteTypeId: 'npm' })
 * await pulp.distributions.create({ name: 'npm', basePath: 'npm', remote: 'npmjs' })
 * // npm install --registry http://localhost:3000/pulp/content/npm/ left-pad
 */
export class NpmRemote extends Remote {
  readonly #origins = new OriginBound()
  /** Packument URLs upstream, by package name. */
  readonly #packumentUrls = new Memo<string>()
  /** What each relative path names, parsed once: asked twice by every request (freshness, then target). */
  readonly #paths = new Memo<NpmPath | null>(10_000)
  /** Origins of requests, checked (bounded: `#origins` answers 400 past its few). */
  readonly #requestOrigins = new Memo<string>(64)

  static metadata (): TypeMetadata {
    return { id: 'npm', displayName: 'npm registry' }
  }

  /** npm asks for `@scope%2fname`. */
  static override acceptsScopedNames (): boolean {
    return true
  }

  /**
   * Packuments change (new versions, dist-tags); tarballs never do. Packuments are metadata
   * even under the `streamed` policy, which streams tarballs: a packument not rewritten would
   * send npm around the mirror for every tarball.
   */
  override getFreshness (relativePath: string): Freshness {
    return this.#paths.get(relativePath, npmPathOf)?.kind === 'packument' ? 'metadata' : super.getFreshness(relativePath)
  }

  override async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    const found = this.#paths.get(relativePath, npmPathOf)
    if (found === null) return null
    // Only a packument this remote served says where a tarball is. `npm ci` asks for the
    // lockfile's tarballs and no packument: the package's packument is served to the cache
    // first (from this remote's url), then the path is looked up again.
    if (found.kind === 'tarball') {
      const bound = await context.readBinding(relativePath)
      if (bound !== null) return bound
      await context.ensureMetadata(found.name)
      return await context.readBinding(relativePath)
    }
    const url = this.#packumentUrls.get(found.name, (name) => packumentUrl(this.url, name))
    // Every variant binds the same tarball paths: for the bindings alone, the smallest
    // document, under one variant whatever the request's Host (a tarball never depends on it).
    if (context.forBindings === true) return { url, variant: BINDINGS_VARIANT, accept: UPSTREAM_ACCEPT.abbreviated }
    // A configured origin is the only one: no Host header makes another copy.
    const origin = context.contentOrigin ?? requestOrigin(context.request, this.#requestOrigins)
    if (context.contentOrigin === undefined) this.#origins.admit(origin, this.name)
    const kind = packumentKind(context.request.headers.accept)
    return { url, variant: packumentVariant(kind, origin), accept: UPSTREAM_ACCEPT[kind] }
  }

  override rewriteMetadata (relativePath: string, body: Buffer, context: RewriteContext): RewrittenMetadata | null {
    const found = npmPathOf(relativePath)
    if (found?.kind !== 'packument') return null
    // The origin the copy is kept for, which getUpstreamTarget put in its variant; none for a
    // copy kept for its bindings alone, which no client is served.
    const origin = context.variant === BINDINGS_VARIANT ? '' : parsePackumentVariant(context.variant)?.origin ?? context.origin
    const rewritten = rewritePackument(body, { name: found.name, url: context.url, tarballBase: origin + context.basePath })
    debug('%s: %s for %s lists %d tarballs', this.name, found.name, origin, rewritten.bindings.length)
    return rewritten
  }
}
