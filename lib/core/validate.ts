import { DEFAULT_LIMIT, isId } from '../schemas/limits'
import { schemas } from '../schemas/lazy'
import { checkField } from '../schemas/parse'
import type { Page } from '../storage/rows'

// Re-exported for the request validators that import their rules from here.
export { validateRelativePath } from '../relative-path'
export { onlyFields, requireObject } from '../schemas/parse'

/**
 * Ids of repositories, distributors, consumers, remotes and distributions (path parameters too).
 * A valid id passes without zod, so the upload and content paths never load it (lazy.ts); the
 * schema words the failures.
 */
export function validateId (value: unknown, field = 'id'): string {
  if (isId(value)) return value
  return checkField(schemas().fields.ID, value, field)
}

/** A whole number as JSON or a query string gives it; absent or empty: the fallback. */
function wholeNumber (value: unknown, field: 'limit' | 'offset', fallback: number): number {
  if (value === undefined || value === '') return fallback
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  return checkField(schemas().page.PageQuery.shape[field], n, field)
}

/** `limit` (default 100, at most 1000) and `offset` of list endpoints. */
export function validatePage (input: { limit?: unknown, offset?: unknown } = {}): Page {
  return {
    limit: wholeNumber(input.limit, 'limit', DEFAULT_LIMIT),
    offset: wholeNumber(input.offset, 'offset', 0)
  }
}
