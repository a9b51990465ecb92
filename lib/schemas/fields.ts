import { z } from 'zod'
import { validateRelativePath } from '../relative-path'
import { doc } from './docs'
import { ID_MAX_LENGTH, ID_PATTERN } from './limits'

/*
 * Field schemas shared by the resources. Each message is what follows the field's quoted wire
 * name (`"name" is required ...`): parse.ts puts the name in front, so a message never has to
 * know which key it sits under. Other messages follow `"field": `, with `{key}` standing for the
 * key or index inside the field that is at fault.
 */

const shown = (value: unknown): string => JSON.stringify(value) ?? String(value)

/** Ids of repositories, distributors, consumers, remotes and distributions. */
export function id (description?: string): z.ZodString {
  const required = ' is required and must be a non-empty string'
  const schema = z.string({ error: required })
    .min(1, { error: required })
    .max(ID_MAX_LENGTH, { error: ` must be at most ${ID_MAX_LENGTH} characters` })
    .regex(ID_PATTERN, { error: (iss) => ` may contain only letters, digits, "-", "_" and "." (and may not be "." or ".."): got ${shown(iss.input)}` })
    .refine((v) => v !== '.' && v !== '..', { error: (iss) => ` may contain only letters, digits, "-", "_" and "." (and may not be "." or ".."): got ${shown(iss.input)}` })
  return doc(schema, { description: description ?? `letters, digits, "-", "_" and "." (not "." or ".."), at most ${ID_MAX_LENGTH}` })
}

/** Any id, for checks of a single value (path parameters). */
export const ID = id()

/** A string that may be null or left out. */
export function text (max = 4096): z.ZodOptional<z.ZodNullable<z.ZodString>> {
  return z.string({ error: ' must be a string' }).max(max, { error: ` must be at most ${max} characters` }).nullable().optional()
}

/** User data: any JSON object (notes, configs); its keys are never renamed. */
export function jsonObject (description?: string): z.ZodRecord<z.ZodString, z.ZodUnknown> {
  const schema = z.record(z.string(), z.unknown(), { error: ' must be a JSON object' })
  return description === undefined ? schema : doc(schema, { description })
}

export function bool (description?: string): z.ZodBoolean {
  const schema = z.boolean({ error: ' must be true or false' })
  return description === undefined ? schema : doc(schema, { description })
}

/** A number of bytes that may be absent: a whole number >= 0, or null for no limit. */
export function byteLimit (description: string): z.ZodNullable<z.ZodInt> {
  const error = (iss: { input?: unknown }): string =>
    ` must be a whole number of bytes >= 0 (at most ${Number.MAX_SAFE_INTEGER}), or null for no limit: got ${shown(iss.input)}`
  return doc(z.int({ error }).min(0, { error }).nullable(), { description, default: null })
}

/** A path inside a repository or a published tree (see relative-path.ts for the rules). */
export function relativePath (description?: string): z.ZodString {
  const schema = z.string({ error: ' must be a non-empty string' }).max(1024, { error: ' must be at most 1024 characters' }).check((ctx) => {
    try {
      validateRelativePath(ctx.value, '')
    } catch (err: unknown) {
      // Its message names the field `""`: parse.ts names the real one.
      ctx.issues.push({ code: 'custom', input: ctx.value, message: (err as Error).message.slice(2) })
    }
  })
  return description === undefined ? schema : doc(schema, { description })
}

/** A timestamp as the API shows it (ISO 8601). */
export const timestamp = (): z.ZodString => z.string()
export const nullableTimestamp = (): z.ZodNullable<z.ZodString> => z.string().nullable()

/** `{count, results}` of a list endpoint. */
export function page<T extends z.ZodType> (item: T): z.ZodObject<{ count: z.ZodInt, results: z.ZodArray<T> }> {
  return z.object({ count: z.int(), results: z.array(item) })
}
