import { readFile } from 'node:fs/promises'
import type { Knex } from 'knex'
import type { ArtifactStore } from '../artifacts/store'
import { deletePullEntry, findPullEntry, upsertPullEntry, type EntryKey, type PullEntry } from '../storage/pull-entries'
import type { StoredRemote } from '../storage/remotes'

/** Entries remembered in memory; past this the oldest are forgotten first. */
const MAX_REMEMBERED = 10_000

/**
 * The metadata copies and remembered 404s of every remote: the database holds them for every
 * instance and across restarts; this keeps the ones seen lately so a fresh HIT costs no query.
 * A copy this instance believes expired is read again before anyone goes upstream for it.
 */
export class CacheEntries {
  readonly #knex: Knex
  readonly #artifacts: ArtifactStore
  readonly #memory = new Map<string, PullEntry>()

  constructor (knex: Knex, artifacts: ArtifactStore) {
    this.#knex = knex
    this.#artifacts = artifacts
  }

  static key (remote: StoredRemote, relativePath: string, variant: string): EntryKey {
    return { remoteName: remote.name, relativePath, variant }
  }

  /** What this instance remembers of a path, without a query. */
  remembered (remote: StoredRemote, relativePath: string, variant: string): PullEntry | undefined {
    return this.#memory.get(this.#id(remote, relativePath, variant))
  }

  /** What the database holds for a path now (and remembers it). */
  async load (remote: StoredRemote, relativePath: string, variant: string): Promise<PullEntry | undefined> {
    const found = await findPullEntry(this.#knex, CacheEntries.key(remote, relativePath, variant))
    const id = this.#id(remote, relativePath, variant)
    if (found === undefined) this.#memory.delete(id)
    else this.#keep(id, found)
    return found
  }

  /** Remembers an entry just recorded in the database. */
  keep (remote: StoredRemote, entry: PullEntry): void {
    this.#keep(this.#id(remote, entry.relativePath, entry.variant), entry)
  }

  /** Records an upstream 404 for every instance (and here at once). */
  async rememberMissing (remote: StoredRemote, relativePath: string, variant: string): Promise<void> {
    const entry: PullEntry = {
      ...CacheEntries.key(remote, relativePath, variant),
      status: 404,
      sha256: null,
      size: null,
      contentType: null,
      contentEncoding: null,
      etag: null,
      lastModified: null,
      digest: null,
      fetched: Date.now()
    }
    if (remote.negativeCacheTtl === null || remote.negativeCacheTtl <= 0) {
      // Nothing to remember, but an old copy the upstream no longer has is forgotten.
      await this.forget(remote, relativePath, variant)
      return
    }
    this.keep(remote, entry)
    await upsertPullEntry(this.#knex, entry)
  }

  /** Forgets what this instance remembers of a path (the database is read next time). */
  drop (remote: StoredRemote, relativePath: string, variant: string): void {
    this.#memory.delete(this.#id(remote, relativePath, variant))
  }

  async forget (remote: StoredRemote, relativePath: string, variant: string): Promise<void> {
    this.#memory.delete(this.#id(remote, relativePath, variant))
    await deletePullEntry(this.#knex, CacheEntries.key(remote, relativePath, variant))
  }

  /** The body of a metadata copy (fresh or not), or null: what `UpstreamContext.readCachedMetadata` answers. */
  async body (remote: StoredRemote, relativePath: string, variant: string): Promise<Buffer | null> {
    const entry = this.remembered(remote, relativePath, variant) ?? await this.load(remote, relativePath, variant)
    if (entry?.status !== 200 || entry.sha256 === null) return null
    try {
      return await readFile(this.#artifacts.pathOf(entry.sha256))
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  /** A remote changed or went: what was remembered of it is read again. */
  invalidate (remoteName: string): void {
    const prefix = `${remoteName}\0`
    for (const id of this.#memory.keys()) if (id.startsWith(prefix)) this.#memory.delete(id)
  }

  #keep (id: string, entry: PullEntry): void {
    this.#memory.delete(id)
    this.#memory.set(id, entry)
    if (this.#memory.size > MAX_REMEMBERED) this.#memory.delete(this.#memory.keys().next().value as string)
  }

  #id (remote: StoredRemote, relativePath: string, variant: string): string {
    // The creation stamp tells a remote deleted and made again under the same name apart.
    return `${remote.name}\0${remote.created}\0${variant}\0${relativePath}`
  }
}
