import { z } from 'zod'
import { doc } from './docs'
import { bool, id, timestamp, page } from './fields'
import { REMOTE_DEFAULTS } from './limits'

/** How a remote's content is kept: `on_demand` saves what it pulls, `streamed` saves nothing. */
const REMOTE_POLICIES = ['on_demand', 'streamed'] as const
export type RemotePolicy = typeof REMOTE_POLICIES[number]

/** setTimeout's limit, in seconds. */
const MAX_SECONDS = 2_147_483


/** Seconds; `zero`: 0 is allowed; `nullable`: null is too (no limit, or the default). */
interface SecondsSpec<N extends boolean> { zero: boolean, nullable: N, description: string, fallback?: number }
function seconds<N extends boolean> ({ zero, nullable, description, fallback }: SecondsSpec<N>):
N extends true ? z.ZodNullable<z.ZodNumber> : z.ZodNumber {
  const error = ` must be a number of seconds ${zero ? '>= 0' : '> 0'}${nullable ? ', or null' : ''}`
  const number = z.number({ error })
  const schema = doc((zero ? number.min(0, { error }) : number.gt(0, { error })).max(MAX_SECONDS, { error: ` must be at most ${MAX_SECONDS} seconds` }),
    { description, ...(fallback === undefined ? {} : { default: fallback }) })
  return (nullable ? schema.nullable() : schema) as N extends true ? z.ZodNullable<z.ZodNumber> : z.ZodNumber
}

const PATTERNS_ERROR = ' must be an array of at most 256 glob strings, or null'
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const PATTERN = /^[^/\0-\x1f\x7f][^\0-\x1f\x7f]*$/
const patternError = (iss: { input?: unknown }): string =>
  `${JSON.stringify(iss.input) ?? String(iss.input)} must be a relative path glob (no leading "/", at most 1024 characters, no control characters)`

const httpUrl = (description: string): z.ZodString =>
  doc(z.string({ error: ' must be a non-empty http or https URL' }).min(1, { error: ' must be a non-empty http or https URL' })
    .max(2048, { error: ' must be at most 2048 characters' }), { description })

/**
 * The settings of a remote as the JavaScript API and the REST API take them. Rules that need
 * more than the value (a registered type, a masked secret kept, the URL's parts) are in
 * core/remote-fields.ts.
 */
const remoteFields = {
  url: httpUrl('http or https; credentials go in "headers"'),
  remoteTypeId: doc(z.string({ error: ' must be a registered remote type id' }), { description: 'a registered remote type', default: 'file' }),
  headers: doc(z.record(z.string(), z.string({ error: 'the value of "{key}" must be a string' }), { error: ' must be a JSON object of header names to string values' }).nullable(),
    { description: 'sent upstream (to the remote\'s own origin only); read back as "***", and "***" sent back keeps the stored value' }),
  policy: z.enum(REMOTE_POLICIES, { error: (iss) => ` must be one of ${REMOTE_POLICIES.map((p) => `"${p}"`).join(', ')}, got ${JSON.stringify(iss.input)}` }),
  connectTimeout: seconds({ zero: false, nullable: true, description: 'seconds to connect upstream' }),
  totalTimeout: seconds({ zero: false, nullable: true, description: 'seconds a whole upstream request may take' }),
  readTimeout: seconds({ zero: false, nullable: true, fallback: REMOTE_DEFAULTS.readTimeout, description: 'seconds the upstream may send nothing (before its headers or within its body) before the request fails (504 before the headers, a cut connection after); null restores the default' }),
  proxyUrl: httpUrl('http or https proxy; its credentials are masked when read back').nullable(),
  tlsValidation: bool('verify the upstream\'s certificate (default true)'),
  negativeCacheTtl: seconds({ zero: true, nullable: true, fallback: REMOTE_DEFAULTS.negativeCacheTtl, description: 'seconds an upstream 404 is remembered' }),
  metadataPatterns: doc(z.array(
    z.string({ error: patternError }).max(1024, { error: patternError }).regex(PATTERN, { error: patternError }),
    { error: PATTERNS_ERROR }).max(256, { error: PATTERNS_ERROR }).nullable(),
  { description: 'globs (`*` within a segment, `**` any segments) of metadata paths; null: the type\'s default' }),
  metadataTtl: seconds({ zero: true, nullable: false, fallback: REMOTE_DEFAULTS.metadataTtl, description: 'seconds a metadata copy is fresh' }),
  staleIfError: seconds({ zero: true, nullable: false, fallback: REMOTE_DEFAULTS.staleIfError, description: 'seconds after expiry a copy is still served while the upstream fails' }),
  maxFailures: doc(z.int({ error: ' must be a whole number from 1 to 1000000' }).min(1, { error: ' must be a whole number from 1 to 1000000' })
    .max(1_000_000, { error: ' must be a whole number from 1 to 1000000' }), { description: 'consecutive upstream failures before the remote is marked down', default: REMOTE_DEFAULTS.maxFailures })
}

export const UpdateRemoteInput = z.strictObject(remoteFields).partial()
export const CreateRemoteInput = z.strictObject({ name: id(), ...UpdateRemoteInput.shape, url: remoteFields.url })
export type UpdateRemoteInput = z.input<typeof UpdateRemoteInput>
export type CreateRemoteInput = z.input<typeof CreateRemoteInput>

export const RemoteHealth = doc(z.object({
  state: z.enum(['up', 'down']),
  consecutiveFailures: z.int(),
  downSince: z.string().nullable(),
  retryAt: z.string().nullable()
}), { description: 'upstream health, shared by every instance on the database (GET /remotes/{name} only)' })
export type RemoteHealth = z.output<typeof RemoteHealth>

/** A stored remote's settings, real header values included: what a remote type is built from. */
export const RemoteSettings = z.object({
  name: z.string(),
  url: z.string(),
  remoteTypeId: z.string(),
  headers: z.record(z.string(), z.string()),
  policy: z.enum(REMOTE_POLICIES),
  /** Seconds; null for undici's default. */
  connectTimeout: z.number().nullable(),
  /** Seconds for a whole upstream request, body included; null for none. */
  totalTimeout: z.number().nullable(),
  /**
   * Seconds the upstream may send nothing (before its headers, or within its body) before the
   * request fails; a stored remote always has one, default 30.
   */
  readTimeout: z.number().optional(),
  proxyUrl: z.string().nullable(),
  tlsValidation: z.boolean(),
  /** Seconds an upstream 404 is remembered; null or 0 for never. */
  negativeCacheTtl: z.number().nullable(),
  /** Globs of the paths that are metadata; null for the type's `defaultMetadataPatterns()`. */
  metadataPatterns: z.array(z.string()).readonly().nullable(),
  /** Seconds a metadata copy is fresh. */
  metadataTtl: z.number(),
  /** Seconds after expiry that a copy may still be served while the upstream fails. */
  staleIfError: z.number(),
  /** Consecutive upstream failures before the remote is marked down. */
  maxFailures: z.int()
})

/** A remote as the API shows it: header values, URL credentials and query values masked as `"***"`. */
export const RemoteRecord = RemoteSettings.extend({
  headers: z.record(z.string(), z.literal('***')),
  readTimeout: z.number(),
  /** null: the remote type's default patterns. */
  metadataPatterns: z.array(z.string()).nullable(),
  /** The upstream's health as every instance sees it (`get` only). */
  health: RemoteHealth.optional(),
  created: timestamp(),
  updated: timestamp()
})
export type RemoteRecord = z.output<typeof RemoteRecord>
export const RemotePage = page(RemoteRecord)
