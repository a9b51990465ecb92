import type { Knex } from 'knex'
import { now } from './rows'

/** A digest an index gives for a path's bytes (the plugin interface's `UpstreamDigest`). */
export interface StoredDigest {
  algorithm: 'sha256' | 'sha512' | 'sha1'
  /** Lower-case hexadecimal. */
  hex: string
}

const TABLE = 'pulp_remote_bindings'

/** Rows per insert: SQLite takes at most 999 bound values in one statement (6 a row). */
const CHUNK = 150

const ALGORITHMS = new Set<StoredDigest['algorithm']>(['sha256', 'sha512', 'sha1'])

/** Where a path a rewritten index points at is upstream, and the digest that index gave. */
export interface StoredBinding {
  relativePath: string
  url: string
  digest?: StoredDigest
}

interface BindingRow {
  relative_path: string
  url: string
  digest_algorithm: string | null
  digest_hex: string | null
}

function fromRow (row: BindingRow): StoredBinding {
  const algorithm = row.digest_algorithm as StoredDigest['algorithm'] | null
  return algorithm !== null && ALGORITHMS.has(algorithm) && row.digest_hex !== null
    ? { relativePath: row.relative_path, url: row.url, digest: { algorithm, hex: row.digest_hex } }
    : { relativePath: row.relative_path, url: row.url }
}

export async function findBinding (knex: Knex, remoteName: string, relativePath: string): Promise<StoredBinding | undefined> {
  const row = await knex(TABLE).where({ remote_name: remoteName, relative_path: relativePath })
    .first('relative_path', 'url', 'digest_algorithm', 'digest_hex') as BindingRow | undefined
  return row === undefined ? undefined : fromRow(row)
}

/** Records (or replaces: the latest index wins) the bindings an index gave. */
export async function upsertBindings (knex: Knex, remoteName: string, bindings: readonly StoredBinding[]): Promise<void> {
  const updatedAt = now()
  // One row per path: a page listing a path twice binds it to its last link.
  const byPath = new Map(bindings.map((b) => [b.relativePath, b]))
  const rows = [...byPath.values()].map((b) => ({
    remote_name: remoteName,
    relative_path: b.relativePath,
    url: b.url,
    digest_algorithm: b.digest?.algorithm ?? null,
    digest_hex: b.digest?.hex.toLowerCase() ?? null,
    updated_at: updatedAt
  }))
  for (let i = 0; i < rows.length; i += CHUNK) {
    await knex(TABLE).insert(rows.slice(i, i + CHUNK)).onConflict(['remote_name', 'relative_path'])
      .merge(['url', 'digest_algorithm', 'digest_hex', 'updated_at'])
  }
}
