import type { ContentRequest as Request } from '../http/request'
import type { UpstreamContext, UpstreamTarget } from '../plugins/remote'
import type { StoredRemote } from '../storage/remotes'
import type { Route } from './route-index'

/** What a request's UpstreamContext asks of the pull-through cache (one per cache). */
export interface ContextSource {
  cachedMetadata: (remote: StoredRemote, relativePath: string, variant: string) => Promise<Buffer | null>
  readBinding: (remote: StoredRemote, relativePath: string) => Promise<UpstreamTarget | null>
  ensureMetadata: (req: Request, route: Route, relativePath: string) => Promise<void>
  contentOrigin: string | undefined
}

/**
 * What a remote type's `getUpstreamTarget` may consult for one request. A class, not an object
 * literal: a literal with a getter (the lazy `basePath`) is built by the runtime, ~1.5 µs, on
 * every warm HIT of a type that overrides the hook (benches 12 and 13). The functions stay own
 * properties, so a type may take them out of the context.
 */
export class RequestUpstreamContext implements UpstreamContext {
  readonly readCachedMetadata: (relativePath: string, variant?: string) => Promise<Buffer | null>
  readonly readBinding: (relativePath: string) => Promise<UpstreamTarget | null>
  readonly ensureMetadata: (relativePath: string) => Promise<void>
  readonly contentOrigin: string | undefined
  readonly request: Request
  readonly #route: Route

  /**
   * `forBindings`: the target is asked by `ensureMetadata`, which may not be called again from
   * it (one metadata fetch per request at most, no chain of them).
   */
  constructor (source: ContextSource, req: Request, route: Route, readonly forBindings = false) {
    const { remote } = route
    let ensured = false
    this.readCachedMetadata = async (p, variant = '') => await source.cachedMetadata(remote, p, variant)
    // No async step: a bound path's warm HIT awaits this (benches 12 and 13).
    this.readBinding = (p) => source.readBinding(remote, p)
    this.ensureMetadata = async (p) => {
      if (forBindings) throw new TypeError(`remote type "${remote.remoteTypeId}" called ensureMetadata("${p}") for a target asked by ensureMetadata itself`)
      if (ensured) throw new TypeError(`remote type "${remote.remoteTypeId}" called ensureMetadata("${p}") twice for one request ("${route.relativePath}")`)
      ensured = true
      await source.ensureMetadata(req, route, p)
    }
    this.contentOrigin = source.contentOrigin
    this.request = req
    this.#route = route
  }

  /** Built when asked: most types never read it, and a HIT stays cheap. */
  get basePath (): string {
    return basePathOf(this.request, this.#route)
  }
}

/** The URL path of a route's distribution base, trailing slash included (`/pulp/content/pypi/`). */
export function basePathOf (req: Request, route: Route): string {
  return `${req.baseUrl}/${route.distribution.basePath.split('/').map(encodeURIComponent).join('/')}/`
}
