/**
 * The constants of the schemas that code outside validation reads (the storage layer, multer's
 * limits, the id check's common case). They live apart from the zod schemas so that reading
 * them does not load zod: see lazy.ts for what that costs.
 */

export const TASK_STATES = ['waiting', 'running', 'finished', 'failed', 'canceled', 'skipped'] as const

/** Defaults of a new remote's settings (seconds, and a count). */
export const REMOTE_DEFAULTS = Object.freeze({
  readTimeout: 30, negativeCacheTtl: 60, metadataTtl: 300, staleIfError: 86_400, maxFailures: 5
})

/** The most `file` parts one upload request may carry (`push` sends far fewer). */
export const MAX_FILES_PER_UPLOAD = 1000

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

/** What an id may hold: at most ID_MAX_LENGTH of these, and not "." or "..". */
export const ID_PATTERN = /^[A-Za-z0-9_.-]+$/
export const ID_MAX_LENGTH = 255

/** Whether `value` passes every rule of fields.ts's `id()` (which words the failures). */
export function isId (value: unknown): value is string {
  return typeof value === 'string' && value.length <= ID_MAX_LENGTH && ID_PATTERN.test(value) && value !== '.' && value !== '..'
}
