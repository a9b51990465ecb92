import { ValidationError } from '../errors'
import { camelCase, snakeCase } from './naming'
import type { Page } from '../storage/rows'

// Re-exported for the request validators that import their rules from here.
export { validateRelativePath } from '../relative-path'

const ID = /^[A-Za-z0-9_.-]+$/

/** Ids of repositories, distributors, consumers, remotes and distributions. */
export function validateId (value: unknown, field = 'id'): string {
  if (typeof value !== 'string' || value === '') throw new ValidationError(`"${field}" is required and must be a non-empty string`)
  if (value.length > 255) throw new ValidationError(`"${field}" must be at most 255 characters`)
  if (!ID.test(value) || value === '.' || value === '..') {
    throw new ValidationError(`"${field}" may contain only letters, digits, "-", "_" and "." (and may not be "." or ".."): got ${JSON.stringify(value)}`)
  }
  return value
}

export function optionalString (value: unknown, field: string, max = 4096): string | null | undefined {
  if (value === undefined || value === null) return value
  if (typeof value !== 'string') throw new ValidationError(`"${field}" must be a string`)
  if (value.length > max) throw new ValidationError(`"${field}" must be at most ${max} characters`)
  return value
}

export function optionalObject (value: unknown, field: string): Record<string, unknown> | null | undefined {
  if (value === undefined || value === null) return value
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`"${field}" must be a JSON object`)
  return value as Record<string, unknown>
}

/** A number of bytes that may be absent: a whole number >= 0, or null for no limit. */
export function validateByteLimit (value: unknown, field: string): number | null {
  if (value === null) return null
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`"${field}" must be a whole number of bytes >= 0 (at most ${Number.MAX_SAFE_INTEGER}), or null for no limit: got ${JSON.stringify(value) ?? String(value)}`)
  }
  return value
}

export function optionalBoolean (value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') throw new ValidationError(`"${field}" must be true or false`)
  return value
}

/**
 * Rejects fields a body should not carry, naming them, so typos do not pass silently. Names in
 * the message use the wire's snake_case, the form the docs and the REST API show.
 */
export function onlyFields (body: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k))
  // A snake_case name passed to the JavaScript API: the message must not list it as allowed.
  const misspelt = unknown.find((k) => camelCase(k) !== k && allowed.includes(camelCase(k)))
  if (misspelt !== undefined) {
    throw new ValidationError(`unknown field "${misspelt}" for ${what}: the JavaScript API spells it "${camelCase(misspelt)}" (the REST API takes "${misspelt}")`)
  }
  if (unknown.length > 0) {
    throw new ValidationError(`unknown field${unknown.length > 1 ? 's' : ''} for ${what}: ${unknown.map((k) => `"${snakeCase(k)}"`).join(', ')} (allowed: ${allowed.map(snakeCase).join(', ')})`)
  }
}

export function requireObject (value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${what} must be a JSON object`)
  return value as Record<string, unknown>
}

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

function wholeNumber (value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new ValidationError(`"${field}" must be a whole number >= 0`)
  if (n > max) throw new ValidationError(`"${field}" must be at most ${max}`)
  return n
}

/** `limit` (default 100, at most 1000) and `offset` of list endpoints. */
export function validatePage (input: { limit?: unknown, offset?: unknown } = {}): Page {
  return {
    limit: wholeNumber(input.limit, 'limit', DEFAULT_LIMIT, MAX_LIMIT),
    offset: wholeNumber(input.offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
  }
}
