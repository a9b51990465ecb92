import createDebug from 'debug'
import { ConflictError, NotFoundError, ValidationError } from '../errors'
import { Remote, type RemoteTypeClass } from '../plugins/remote'
import type { PluginRegistry } from '../plugins/registry'
import { isUniqueViolation, type PageOf } from '../storage/rows'
import * as store from '../storage/remotes'
import { deleteMissingEntries } from '../storage/pull-entries'
import { healthOf, readRemoteHealth, recordRemoteSuccess } from '../storage/remote-health'
import type { RemoteColumns, StoredRemote } from '../storage/remotes'
import type { PulpContext } from './context'
import { maskHeaders, maskProxyUrl, maskUrl, remoteColumns } from './remote-fields'
import { schemas } from '../schemas/lazy'
import type { CreateRemoteInput, RemoteRecord, UpdateRemoteInput } from '../schemas/remotes'
import { parseInput } from '../schemas/parse'
import { validateId, validatePage } from './validate'

const debug = createDebug('pulp:core:remotes')

export type { CreateRemoteInput, RemoteRecord, UpdateRemoteInput } from '../schemas/remotes'

function toRecord (r: StoredRemote): RemoteRecord {
  return {
    name: r.name,
    url: maskUrl(r.url),
    remoteTypeId: r.remoteTypeId,
    headers: maskHeaders(r.headers),
    policy: r.policy,
    connectTimeout: r.connectTimeout,
    totalTimeout: r.totalTimeout,
    readTimeout: r.readTimeout,
    proxyUrl: maskProxyUrl(r.proxyUrl),
    tlsValidation: r.tlsValidation,
    negativeCacheTtl: r.negativeCacheTtl,
    metadataPatterns: r.metadataPatterns === null ? null : [...r.metadataPatterns],
    metadataTtl: r.metadataTtl,
    staleIfError: r.staleIfError,
    maxFailures: r.maxFailures,
    created: r.created,
    updated: r.updated
  }
}

/**
 * Builds the remote type's instance for a stored remote. Throws a ValidationError when its
 * type is no longer registered (a plugin removed since the remote was made).
 */
export function instantiateRemote (registry: PluginRegistry, stored: StoredRemote): Remote {
  const type = registry.remoteType(stored.remoteTypeId)
  if (type === undefined) throw new ValidationError(`remote "${stored.name}" has the type "${stored.remoteTypeId}", which is not registered`)
  const instance = new (type.Class as unknown as RemoteTypeClass)(stored)
  if (!(instance instanceof Remote)) {
    throw new ValidationError(`remote type "${stored.remoteTypeId}" does not extend Remote (import { Remote } from 'pulp-middleware')`)
  }
  return instance
}

/** Remotes for pull-through: the same rules for the REST API and for code. */
export class RemoteService {
  readonly #ctx: PulpContext
  readonly #registry: PluginRegistry

  constructor (ctx: PulpContext, registry: PluginRegistry) {
    this.#ctx = ctx
    this.#registry = registry
  }

  #columns (body: UpdateRemoteInput, current?: RemoteColumns): Partial<RemoteColumns> {
    return remoteColumns(body, current,
      (id) => this.#registry.remoteType(id) !== undefined,
      () => this.#registry.remoteTypes().map((t) => t.id))
  }

  async create (input: CreateRemoteInput): Promise<RemoteRecord> {
    const { name, ...body } = parseInput(schemas().remotes.CreateRemoteInput, input, 'a remote')
    try {
      await store.insertRemote(this.#ctx.knex, name, this.#columns(body) as RemoteColumns)
    } catch (err: unknown) {
      if (isUniqueViolation(err)) throw new ConflictError(`remote "${name}" already exists`)
      throw err
    }
    debug('created %s', name)
    return await this.get(name)
  }

  async list (page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<RemoteRecord>> {
    const found = await store.listRemotes(this.#ctx.knex, validatePage(page))
    return { count: found.count, results: found.results.map(toRecord) }
  }

  async get (name: string): Promise<RemoteRecord> {
    const record = toRecord(await this.#stored(name))
    record.health = healthOf(await readRemoteHealth(this.#ctx.knex, record.name))
    return record
  }

  async update (name: string, fields: UpdateRemoteInput): Promise<RemoteRecord> {
    const body = parseInput(schemas().remotes.UpdateRemoteInput, fields, 'a remote update')
    const current = await this.#stored(name)
    if (!await store.updateRemote(this.#ctx.knex, name, this.#columns(body, current))) {
      throw new NotFoundError(`remote "${name}" does not exist`)
    }
    // New settings (a fixed URL, other headers) deserve a fresh start upstream.
    await deleteMissingEntries(this.#ctx.knex, name)
    await recordRemoteSuccess(this.#ctx.knex, name)
    debug('updated %s', name)
    this.#ctx.events.emit('remote-changed', name)
    return await this.get(name)
  }

  /** Deletes a remote and what it pulled into its index; 409 while a distribution uses it. */
  async delete (name: string): Promise<void> {
    validateId(name, 'name')
    const { deleted, usedBy } = await store.deleteRemote(this.#ctx.knex, name)
    if (usedBy !== undefined) {
      throw new ConflictError(`remote "${name}" is used by distribution "${usedBy}"; remove it from the distribution first`)
    }
    if (!deleted) throw new NotFoundError(`remote "${name}" does not exist`)
    debug('deleted %s', name)
    this.#ctx.events.emit('remote-changed', name)
  }

  async #stored (name: string): Promise<StoredRemote> {
    const found = await store.findRemote(this.#ctx.knex, validateId(name, 'name'))
    if (found === undefined) throw new NotFoundError(`remote "${name}" does not exist`)
    return found
  }
}
