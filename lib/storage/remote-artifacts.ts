import type { Knex } from 'knex'
import { now, toNumber } from './rows'

const TABLE = 'pulp_remote_artifacts'

/** What a remote served for a path and where those bytes are: the pull-through cache's index. */
export interface RemoteArtifact {
  remoteName: string
  relativePath: string
  unitId: string | null
  sha256: string
  size: number
  /** The upstream's Content-Type, replayed on a HIT; null to look it up by name. */
  contentType: string | null
  /** The upstream's Content-Encoding: the stored bytes are exactly what it sent. */
  contentEncoding: string | null
  /** The index digest (`"<algorithm>:<hex>"`) the bytes were verified against, if any. */
  digest?: string | null
}

interface RemoteArtifactRow {
  remote_name: string
  relative_path: string
  unit_id: string | null
  sha256: string
  size: number | string
  content_type: string | null
  content_encoding: string | null
  digest: string | null
}

export async function findRemoteArtifact (knex: Knex, remoteName: string, relativePath: string): Promise<RemoteArtifact | undefined> {
  const row = await knex(TABLE).where({ remote_name: remoteName, relative_path: relativePath })
    .first('remote_name', 'relative_path', 'unit_id', 'sha256', 'size', 'content_type', 'content_encoding', 'digest') as RemoteArtifactRow | undefined
  if (row === undefined) return undefined
  return {
    remoteName: row.remote_name,
    relativePath: row.relative_path,
    unitId: row.unit_id,
    sha256: row.sha256,
    size: toNumber(row.size),
    contentType: row.content_type,
    contentEncoding: row.content_encoding,
    digest: row.digest
  }
}

/** Records (or replaces) what a path of a remote is; the artifact row must exist. */
export async function upsertRemoteArtifact (knex: Knex, entry: RemoteArtifact): Promise<void> {
  await knex(TABLE).insert({
    remote_name: entry.remoteName,
    relative_path: entry.relativePath,
    unit_id: entry.unitId,
    sha256: entry.sha256,
    size: entry.size,
    content_type: entry.contentType,
    content_encoding: entry.contentEncoding,
    digest: entry.digest ?? null,
    created: now()
  }).onConflict(['remote_name', 'relative_path']).merge(['unit_id', 'sha256', 'size', 'content_type', 'content_encoding', 'digest', 'created'])
}
