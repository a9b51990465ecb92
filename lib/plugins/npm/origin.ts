import type { IncomingMessage } from 'node:http'
import { ValidationError } from '../../errors'
import { schemeOf } from '../../http/request'
import type { Memo } from '../memo'

/** Distinct origins one npm remote rewrites packuments for (per instance): see `OriginBound`. */
export const MAX_ORIGINS = 8

// The variant column holds 255 characters (the kind and scheme take some); DNS names are at most 253.
const MAX_HOST = 200

// A host name, an IPv4 address or a bracketed IPv6 one, and a port: nothing else may reach a URL.
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

/**
 * `scheme://host[:port]` of a request as the host app sees it: Express's `req.protocol` and
 * `req.host` (so `trust proxy` decides whether `X-Forwarded-*` count), else the socket and the
 * Host header. A Host that is no host name is a 400. `memo`: origins already checked (by
 * scheme and host as received).
 */
export function requestOrigin (request: IncomingMessage, memo?: Memo<string>): string {
  const express = request as IncomingMessage & { protocol?: unknown, host?: unknown }
  const scheme = schemeOf(express)
  const host = typeof express.host === 'string' ? express.host : request.headers.host
  if (memo === undefined || host === undefined) return originOf(scheme, host)
  return memo.get(`${scheme}://${host}`, () => originOf(scheme, host))
}

function originOf (scheme: string, host: string | undefined): string {
  if (host === undefined || host === '' || host.length > MAX_HOST || !HOST.test(host) || (scheme !== 'http' && scheme !== 'https')) {
    throw new ValidationError(`the request's Host header (${JSON.stringify(host ?? '')}) is not a host name: an npm packument needs it for its tarball URLs`)
  }
  // The URL parser drops a default port and lower-cases: one origin, one spelling.
  return new URL(`${scheme}://${host}`).origin
}

/**
 * The origins one remote rewrites packuments for. npm needs absolute tarball URLs (a relative
 * `dist.tarball` is read as a local file), so a rewritten packument names the origin the
 * client used; that origin is part of the cached copy's variant, so a client is only ever
 * served URLs of the origin it asked itself (no Host header can poison another's copy), and
 * this bound keeps Host headers from growing the cache: the first `MAX_ORIGINS` origins are
 * admitted, a request from any other answers 400.
 */
export class OriginBound {
  readonly #admitted = new Set<string>()
  readonly #max: number

  constructor (max = MAX_ORIGINS) {
    this.#max = max
  }

  admit (origin: string, remoteName: string): void {
    if (this.#admitted.has(origin)) return
    if (this.#admitted.size >= this.#max) {
      throw new ValidationError(`npm remote "${remoteName}" already serves packuments for ${this.#max} origins (scheme and Host header); ` +
        `${origin} is not one of them: reach it under a host name it already serves (or restart the instance)`)
    }
    this.#admitted.add(origin)
  }
}
