import type { Knex } from 'knex'
import type { UpstreamTarget } from '../plugins/remote'
import { findBinding, upsertBindings, type StoredBinding } from '../storage/remote-bindings'
import type { StoredRemote } from '../storage/remotes'

/** Bindings remembered in memory; past this the oldest are forgotten first. */
const MAX_REMEMBERED = 20_000
/** How long a remembered binding is trusted before the database is read again (another instance may have relearnt it). */
const TRUST_MS = 60_000

/**
 * The upstream URL (and digest) of every path a rewritten index points at: the database holds
 * them for every instance and across restarts; this keeps the ones used lately, so a warm HIT
 * of a bound path costs no query. A path never bound is asked of the database each time
 * (another instance may just have learnt it).
 */
export class RemoteBindings {
  readonly #knex: Knex
  readonly #memory = new Map<string, { target: UpstreamTarget, at: number }>()

  constructor (knex: Knex) {
    this.#knex = knex
  }

  /** What `UpstreamContext.readBinding` answers: from memory without an async step (a warm HIT's, benches 12 and 13). */
  read (remote: StoredRemote, relativePath: string): Promise<UpstreamTarget | null> {
    const id = this.#id(remote, relativePath)
    const kept = this.#memory.get(id)
    const now = performance.now()
    if (kept !== undefined && now - kept.at < TRUST_MS) return Promise.resolve(kept.target)
    return this.#load(remote, relativePath, id, now)
  }

  async #load (remote: StoredRemote, relativePath: string, id: string, now: number): Promise<UpstreamTarget | null> {
    const found = await findBinding(this.#knex, remote.name, relativePath)
    if (found === undefined) {
      this.#memory.delete(id)
      return null
    }
    const target = RemoteBindings.#target(found)
    this.#remember(id, target, now)
    return target
  }

  /** Records an index's bindings in `trx` (the transaction saving the index). */
  async record (trx: Knex, remote: StoredRemote, bindings: readonly StoredBinding[]): Promise<void> {
    if (bindings.length > 0) await upsertBindings(trx, remote.name, bindings)
  }

  /** Remembers bindings just committed. */
  keep (remote: StoredRemote, bindings: readonly StoredBinding[]): void {
    const now = performance.now()
    for (const b of bindings) this.#remember(this.#id(remote, b.relativePath), RemoteBindings.#target(b), now)
  }

  /** A remote changed or went: its bindings are read again. */
  invalidate (remoteName: string): void {
    const prefix = `${remoteName}\0`
    for (const id of this.#memory.keys()) if (id.startsWith(prefix)) this.#memory.delete(id)
  }

  static #target (b: StoredBinding): UpstreamTarget {
    return Object.freeze(b.digest === undefined ? { url: b.url } : { url: b.url, digest: Object.freeze({ ...b.digest }) })
  }

  #remember (id: string, target: UpstreamTarget, at: number): void {
    this.#memory.delete(id)
    this.#memory.set(id, { target, at })
    if (this.#memory.size > MAX_REMEMBERED) this.#memory.delete(this.#memory.keys().next().value as string)
  }

  #id (remote: StoredRemote, relativePath: string): string {
    // The creation stamp tells a remote deleted and made again under the same name apart.
    return `${remote.name}\0${remote.created}\0${relativePath}`
  }
}
