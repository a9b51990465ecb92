/**
 * JSON on the wire is snake_case, as in Pulp; TypeScript is camelCase. Only the top-level keys
 * of our own objects are converted: nested values (notes, configs, reports) are user data.
 */

import type { z } from 'zod'
import { camelCase as camel, snakeCase as snake } from '../schemas/naming'
import { parseInput } from '../schemas/parse'

export function toWire (value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) out[snake(key)] = v
  return out
}

export function fromWire (value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) out[camel(key)] = v
  return out
}

/** A `{count, results}` page with each result converted. */
export function pageToWire<T extends object> (
  page: { count: number, results: T[] }
): { count: number, results: Array<Record<string, unknown>> } {
  return { count: page.count, results: page.results.map(toWire) }
}

/**
 * A JSON body checked against its schema (field names as the JavaScript API spells them), so
 * what reaches the service is typed; the service checks again for callers in code.
 */
export function bodyOf<T extends z.ZodObject> (schema: T, body: unknown, what: string): z.output<T> {
  return parseInput(schema, fromWire(body), what)
}
