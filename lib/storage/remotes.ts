import type { Knex } from 'knex'
import type { z } from 'zod'
import { REMOTE_DEFAULTS } from '../schemas/limits'
import type * as schema from '../schemas/remotes'
import type { RemotePolicy } from '../schemas/remotes'
import { lockWiring } from './distributions'
import { fromJson, now, toBool, toJson, toNumber, type Page, type PageOf } from './rows'

export type { RemotePolicy } from '../schemas/remotes'

/** A stored remote, with its real header values: what a remote type is built from. */
export type RemoteSettings = Readonly<z.output<typeof schema.RemoteSettings>>

const TABLE = 'pulp_remotes'

/** Seconds without a byte from the upstream before a request fails: pulpcore's sock_read_timeout. */
export const DEFAULT_READ_TIMEOUT = REMOTE_DEFAULTS.readTimeout

/** A stored remote with its real header values; never leaves the process as is. */
export interface StoredRemote extends RemoteSettings {
  readonly readTimeout: number
  readonly created: string
  readonly updated: string
}

/** The stored fields of a remote besides its name. */
export type RemoteColumns = { -readonly [K in Exclude<keyof RemoteSettings, 'name'>]: RemoteSettings[K] }

interface RemoteRow {
  name: string
  url: string
  remote_type_id: string
  headers: string
  policy: string
  connect_timeout: number | string | null
  total_timeout: number | string | null
  /** Absent from rows read before migration 004 ran. */
  read_timeout?: number | string | null
  proxy_url: string | null
  tls_validation: boolean | number
  negative_cache_ttl: number | string | null
  metadata_patterns: string | null
  metadata_ttl: number | string
  stale_if_error: number | string
  max_failures: number | string
  created: string
  updated: string
}

function nullableNumber (value: number | string | null): number | null {
  return value === null ? null : toNumber(value)
}

function toStored (row: RemoteRow): StoredRemote {
  return {
    name: row.name,
    url: row.url,
    remoteTypeId: row.remote_type_id,
    headers: fromJson<Record<string, string>>(row.headers, {}),
    policy: row.policy as RemotePolicy,
    connectTimeout: nullableNumber(row.connect_timeout),
    totalTimeout: nullableNumber(row.total_timeout),
    readTimeout: nullableNumber(row.read_timeout ?? null) ?? DEFAULT_READ_TIMEOUT,
    proxyUrl: row.proxy_url,
    tlsValidation: toBool(row.tls_validation),
    negativeCacheTtl: nullableNumber(row.negative_cache_ttl),
    metadataPatterns: fromJson<string[] | null>(row.metadata_patterns, null),
    metadataTtl: toNumber(row.metadata_ttl),
    staleIfError: toNumber(row.stale_if_error),
    maxFailures: toNumber(row.max_failures),
    created: row.created,
    updated: row.updated
  }
}

function toRow (fields: Partial<RemoteColumns>): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  if (fields.url !== undefined) row.url = fields.url
  if (fields.remoteTypeId !== undefined) row.remote_type_id = fields.remoteTypeId
  if (fields.headers !== undefined) row.headers = toJson(fields.headers)
  if (fields.policy !== undefined) row.policy = fields.policy
  if (fields.connectTimeout !== undefined) row.connect_timeout = fields.connectTimeout
  if (fields.totalTimeout !== undefined) row.total_timeout = fields.totalTimeout
  if (fields.readTimeout !== undefined) row.read_timeout = fields.readTimeout
  if (fields.proxyUrl !== undefined) row.proxy_url = fields.proxyUrl
  if (fields.tlsValidation !== undefined) row.tls_validation = fields.tlsValidation
  if (fields.negativeCacheTtl !== undefined) row.negative_cache_ttl = fields.negativeCacheTtl
  if (fields.metadataPatterns !== undefined) {
    row.metadata_patterns = fields.metadataPatterns === null ? null : toJson(fields.metadataPatterns)
  }
  if (fields.metadataTtl !== undefined) row.metadata_ttl = fields.metadataTtl
  if (fields.staleIfError !== undefined) row.stale_if_error = fields.staleIfError
  if (fields.maxFailures !== undefined) row.max_failures = fields.maxFailures
  return row
}

export async function insertRemote (knex: Knex, name: string, fields: RemoteColumns): Promise<void> {
  const at = now()
  await knex(TABLE).insert({ name, ...toRow(fields), created: at, updated: at })
}

export async function findRemote (knex: Knex, name: string): Promise<StoredRemote | undefined> {
  const row = await knex(TABLE).where({ name }).first() as RemoteRow | undefined
  return row === undefined ? undefined : toStored(row)
}

export async function findRemotes (knex: Knex, names: readonly string[]): Promise<StoredRemote[]> {
  if (names.length === 0) return []
  return (await knex(TABLE).whereIn('name', [...names]) as RemoteRow[]).map(toStored)
}

export async function listRemotes (knex: Knex, page: Page): Promise<PageOf<StoredRemote>> {
  const [{ n }] = await knex(TABLE).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex(TABLE).orderBy('name').limit(page.limit).offset(page.offset) as RemoteRow[]
  return { count: toNumber(n), results: rows.map(toStored) }
}

/** Returns false when there is no such remote. */
export async function updateRemote (knex: Knex, name: string, fields: Partial<RemoteColumns>): Promise<boolean> {
  return await knex(TABLE).where({ name }).update({ ...toRow(fields), updated: now() }) > 0
}

/**
 * Deletes a remote and its pull-through index, unless a distribution uses it: then nothing
 * changes and the distribution's name comes back.
 */
export async function deleteRemote (knex: Knex, name: string): Promise<{ deleted: boolean, usedBy?: string }> {
  return await knex.transaction(async (trx) => {
    await lockWiring(trx)
    const user = await trx('pulp_distributions').where({ remote_name: name }).orderBy('name').first('name') as { name: string } | undefined
    if (user !== undefined) return { deleted: false, usedBy: user.name }
    await trx('pulp_remote_artifacts').where({ remote_name: name }).delete()
    await trx('pulp_pull_entries').where({ remote_name: name }).delete()
    await trx('pulp_remote_bindings').where({ remote_name: name }).delete()
    await trx('pulp_remote_health').where({ remote_name: name }).delete()
    return { deleted: await trx(TABLE).where({ name }).delete() > 0 }
  })
}
