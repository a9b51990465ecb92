import type { z } from 'zod'
import { ValidationError } from '../errors'
import { camelCase, snakeCase } from './naming'

/** The first issue as one sentence naming its field in the wire's snake_case. */
function messageOf (issue: z.core.$ZodIssue): string {
  const [field, key] = issue.path
  if (field === undefined) return issue.message
  const name = `"${snakeCase(String(field))}"`
  if (issue.message.startsWith(' ')) return name + issue.message
  return `${name}: ${issue.message.replaceAll('{key}', String(key))}`
}

/** A value against a schema, or a ValidationError naming the first field at fault. */
export function check<T extends z.ZodType> (schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw new ValidationError(messageOf(result.error.issues[0]))
  return result.data
}

/** One field's value against its schema: `"field" ...` on a failure. */
export function checkField<T extends z.ZodType> (schema: T, value: unknown, field: string): z.output<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw new ValidationError(messageOf({ ...result.error.issues[0], path: [field] }))
  return result.data
}

export function requireObject (value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${what} must be a JSON object`)
  return value as Record<string, unknown>
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

/**
 * A request body (camelCase, as the JavaScript API takes it and `fromWire` gives it) against
 * its object schema: a JSON object, no field the schema lacks (with the snake_case hint), then
 * each field's rules.
 */
export function parseInput<T extends z.ZodObject> (schema: T, value: unknown, what: string): z.output<T> {
  onlyFields(requireObject(value, what), Object.keys(schema.shape), what)
  return check(schema, value)
}
