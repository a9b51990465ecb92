import type { NextFunction, Request, Response } from 'express'
import createDebug from 'debug'
import { MulterError } from 'multer'
import { errorBody, httpStatusOf, localFault, PayloadTooLargeError, PulpError, UnsupportedMediaTypeError, ValidationError } from '../errors'

const debug = createDebug('pulp:api')

/** Maps errors from Express's body parsers and multer to ours, so every error has one shape. */
function normalize (err: unknown): unknown {
  if (err instanceof PulpError) return err
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError('the file is larger than maxUploadSize')
    return new ValidationError(`bad multipart upload: ${err.message}${err.field ? ` (field "${err.field}")` : ''}`)
  }
  const e = err as { type?: string, status?: number, message?: string }
  if (e?.type === 'entity.parse.failed') return new ValidationError(`the body is not valid JSON: ${e.message}`)
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError('the JSON body is too large')
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new UnsupportedMediaTypeError(String(e.message))
  if (typeof e?.message === 'string' && /^(Multipart: |Unexpected end of form|Malformed part header)/.test(e.message)) {
    return new ValidationError(`bad multipart upload: ${e.message}`)
  }
  return err
}

/**
 * The API's last error handler: `{error: {code, message}}`, and never a stack trace. A local
 * fault (disk full, permission denied) is named, with paths relative to `dataDir`.
 */
export function apiErrorHandler (dataDir: string) {
  return function apiErrorHandler (err: unknown, req: Request, res: Response, next: NextFunction): void {
    handle(localFault(err, dataDir) ?? err, req, res, next)
  }
}

function handle (err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const error = normalize(err)
  const status = httpStatusOf(error)
  if (status >= 500) debug('%s %s failed: %O', req.method, req.originalUrl, err)
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.status(status).json(errorBody(error))
}
