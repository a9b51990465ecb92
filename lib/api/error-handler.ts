import type { NextFunction, Request, Response } from 'express'
import { MulterError } from 'multer'
import { MAX_FILES_PER_UPLOAD } from './upload-storage'
import { errorBody, httpStatusOf, localFault, PayloadTooLargeError, PulpError, UnsupportedMediaTypeError, ValidationError } from '../errors'
import type { PartLog } from '../log/logger'

/** Maps errors from Express's body parsers and multer to ours, so every error has one shape. */
function normalize (err: unknown): unknown {
  if (err instanceof PulpError) return err
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError('the file is larger than maxUploadSize')
    if (err.code === 'LIMIT_FILE_COUNT') return new PayloadTooLargeError(`one upload request carries at most ${MAX_FILES_PER_UPLOAD} files`)
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
 * The API's last error handler: `{error: {code, message}}`, and never a stack trace; a 500's
 * cause goes to the log. A local fault (disk full, permission denied) is named, with paths
 * relative to `dataDir`.
 */
export function apiErrorHandler (log: PartLog, dataDir: string) {
  return function apiError (err: unknown, req: Request, res: Response, _next: NextFunction): void {
    const error = normalize(localFault(err, dataDir) ?? err)
    const status = httpStatusOf(error)
    if (status >= 500) log.error({ err, method: req.method, url: req.originalUrl, status }, 'API request failed')
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.status(status).json(errorBody(error))
  }
}
