import type { Knex } from 'knex'
import { toNumber } from './rows'

const TABLE = 'pulp_pull_entries'

/**
 * What the pull-through remembers of a path besides immutable artifacts: a metadata copy (200)
 * with the upstream's validators, or an upstream 404. `fetched` is when the upstream last
 * vouched for it (a 304 renews it), in ms since the epoch.
 */
export interface PullEntry {
  remoteName: string
  relativePath: string
  variant: string
  status: 200 | 404
  sha256: string | null
  size: number | null
  contentType: string | null
  contentEncoding: string | null
  etag: string | null
  lastModified: string | null
  /** The index digest (`"<algorithm>:<hex>"`) the bytes were verified against, if any. */
  digest: string | null
  fetched: number
}

export interface EntryKey { remoteName: string, relativePath: string, variant: string }

interface EntryRow {
  remote_name: string
  relative_path: string
  variant: string
  status: number | string
  sha256: string | null
  size: number | string | null
  content_type: string | null
  content_encoding: string | null
  etag: string | null
  last_modified: string | null
  digest: string | null
  fetched: string
}

function where (key: EntryKey): Record<string, string> {
  return { remote_name: key.remoteName, relative_path: key.relativePath, variant: key.variant }
}

function fromRow (row: EntryRow): PullEntry {
  return {
    remoteName: row.remote_name,
    relativePath: row.relative_path,
    variant: row.variant,
    status: toNumber(row.status) === 404 ? 404 : 200,
    sha256: row.sha256,
    size: row.size === null ? null : toNumber(row.size),
    contentType: row.content_type,
    contentEncoding: row.content_encoding,
    etag: row.etag,
    lastModified: row.last_modified,
    digest: row.digest,
    fetched: Date.parse(row.fetched)
  }
}

export async function findPullEntry (knex: Knex, key: EntryKey): Promise<PullEntry | undefined> {
  const row = await knex(TABLE).where(where(key)).first() as EntryRow | undefined
  return row === undefined ? undefined : fromRow(row)
}

/** Records (or replaces) a path's entry; a 200's artifact row must exist. */
export async function upsertPullEntry (knex: Knex, entry: PullEntry): Promise<void> {
  const fields = {
    status: entry.status,
    sha256: entry.sha256,
    size: entry.size,
    content_type: entry.contentType,
    content_encoding: entry.contentEncoding,
    etag: entry.etag,
    last_modified: entry.lastModified,
    digest: entry.digest,
    fetched: new Date(entry.fetched).toISOString()
  }
  await knex(TABLE).insert({ ...where(entry), ...fields }).onConflict(['remote_name', 'relative_path', 'variant']).merge(fields)
}

/** A 304: the copy is fresh again from `fetched`, with whatever validators the upstream sent anew. */
export async function renewPullEntry (knex: Knex, key: EntryKey, fields: Pick<PullEntry, 'fetched' | 'etag' | 'lastModified'>): Promise<number> {
  return await knex(TABLE).where(where(key)).where({ status: 200 }).update({
    fetched: new Date(fields.fetched).toISOString(), etag: fields.etag, last_modified: fields.lastModified
  })
}

export async function deletePullEntry (knex: Knex, key: EntryKey): Promise<void> {
  await knex(TABLE).where(where(key)).delete()
}

/** Forgets a remote's remembered 404s (its settings changed: the upstream may answer otherwise now). */
export async function deleteMissingEntries (knex: Knex, remoteName: string): Promise<void> {
  await knex(TABLE).where({ remote_name: remoteName, status: 404 }).delete()
}
