import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import accepts from 'accepts'
import encodeUrl from 'encodeurl'
import parseurl from 'parseurl'

/**
 * A content request as the static tree and the pull-through read it: node:http's own request
 * with the two fields a mount adds (`originalUrl`, the URL as the client sent it; `baseUrl`,
 * the path the content is mounted at). Express's requests are such requests; so are the ones
 * `attach()` answers before Express sees them, which is why nothing here relies on Express's
 * request or response methods. Where Express has a view of its own (the scheme behind a
 * trusted proxy), its getter is used when present.
 */
export interface ContentRequest extends IncomingMessage {
  originalUrl: string
  baseUrl: string
  /** Set by Express (honouring the app's `trust proxy`); absent on a request straight from node:http. */
  readonly protocol?: string
}

export type ContentResponse = ServerResponse<IncomingMessage>

/** The path of `req.url`, still percent-encoded: what Express calls `req.path`. */
export function pathOf (req: IncomingMessage): string {
  return parseurl(req)?.pathname ?? '/'
}

/**
 * `http` or `https`: Express's answer where it set the request up (it may trust a proxy's
 * X-Forwarded-Proto), else the socket's. `attach()` leaves requests that carry that header to
 * Express, so both agree wherever both could answer.
 */
export function schemeOf (req: IncomingMessage & { readonly protocol?: unknown }): 'http' | 'https' {
  if (typeof req.protocol === 'string') return req.protocol === 'https' ? 'https' : 'http'
  return (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
}

/** Whether the client prefers JSON to HTML (listings); HTML when it says nothing. */
export function prefersJson (req: IncomingMessage): boolean {
  return accepts(req).types(['html', 'json']) === 'json'
}

/**
 * A permanent redirect with a short plain-text body, as any static server sends one; what the
 * client sent unencoded in the location is percent-encoded (a raw one can hold bytes no header
 * may carry).
 */
export function sendRedirect (req: IncomingMessage, res: ContentResponse, target: string): void {
  const location = encodeUrl(target)
  const body = `Moved Permanently. Redirecting to ${location}`
  res.writeHead(301, {
    location,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff'
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** An error as JSON (`{ error: { code, message } }`) with the given status and extra headers. */
export function sendError (
  res: ContentResponse,
  status: number,
  error: { code: string, message: string },
  headers: OutgoingHttpHeaders = {}
): void {
  const body = JSON.stringify({ error })
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff'
  })
  res.end(body)
}
