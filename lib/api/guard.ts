import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { ForbiddenError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors'
import { loopbackOnly, type AuthorizeFn } from '../options'

/**
 * Asks `authorize` before a route runs. A "no" is 401 when the request brought no credentials
 * (so the client knows to send some) and 403 when it did, or when the default loopback rule
 * refused it (no credentials would help there).
 */
export function guard (authorize: AuthorizeFn, action: string): RequestHandler {
  return async function pulpGuard (req: Request, _res: Response, next: NextFunction): Promise<void> {
    if (await authorize(req, action)) return next()
    const hasCredentials = req.headers.authorization !== undefined || req.headers.cookie !== undefined
    if (authorize === loopbackOnly || hasCredentials) throw new ForbiddenError(`not allowed to ${action}`)
    throw new UnauthorizedError(`authentication required to ${action}`)
  }
}

const parseJson = json({ limit: '1mb' })

/** Parses a JSON body, and refuses one that is not JSON rather than silently ignoring it. */
export function jsonBody (req: Request, res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
  if (hasBody && req.is('application/json') === false) {
    throw new UnsupportedMediaTypeError(`send the body as application/json (got ${req.headers['content-type'] ?? 'no Content-Type'})`)
  }
  parseJson(req, res, next)
}
