/** Small conversions shared by the table modules, so every dialect yields the same values. */

export function now (): string {
  return new Date().toISOString()
}

export function toJson (value: unknown): string {
  return JSON.stringify(value ?? null)
}

export function fromJson<T = unknown> (text: unknown, fallback: T): T {
  if (typeof text !== 'string' || text === '') return fallback
  return JSON.parse(text) as T
}

/** SQLite answers booleans as 0/1. */
export function toBool (value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't'
}

/** PostgreSQL answers bigint columns as strings. */
export function toNumber (value: unknown): number {
  return typeof value === 'number' ? value : Number(value)
}

/** Whether an error is a unique-constraint violation on either dialect. */
export function isUniqueViolation (err: unknown): boolean {
  const e = err as { code?: string, message?: string }
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE|PRIMARY KEY/i.test(String(e.message))
}

export interface Page { limit: number, offset: number }
export interface PageOf<T> { count: number, results: T[] }
