import { z } from 'zod'

/** What the OpenAPI document says of a schema besides its type: a description, a default. */
interface SchemaDoc {
  description?: string
  default?: unknown
  format?: string
}

/**
 * The descriptions of this package's schemas, kept apart from zod's global registry so that a
 * host app using zod sees none of ours. Written once, when the schema modules load.
 */
export const schemaDocs = z.registry<SchemaDoc>()

/** `schema`, documented. */
export function doc<T extends z.ZodType> (schema: T, meta: SchemaDoc): T {
  schemaDocs.add(schema, meta)
  return schema
}
