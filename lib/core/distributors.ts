import createDebug from 'debug'
import type { Knex } from 'knex'
import { ConflictError, InvalidConfigError, NotFoundError, PulpError, ValidationError } from '../errors'
import { PluginConfig, assertJson, mergeStoredConfig, type JsonObject } from '../plugins/config'
import type { ConfigConduit, RelativeUrlClaim, ValidationResult } from '../plugins/distributor'
import type { DistributorType, PluginRegistry } from '../plugins/registry'
import { lockWiring } from '../storage/distributions'
import * as store from '../storage/distributors'
import type { RepoDistributor } from '../storage/distributors'
import type { Repository } from '../storage/repositories'
import { isUniqueViolation, type PageOf } from '../storage/rows'
import { listTasks } from '../storage/tasks'
import { listHistory, type PublishHistoryEntry } from '../storage/history'
import type { PulpContext } from './context'
import type { RepositoryService } from './repositories'
import type { TaskService } from './tasks'
import { schemas } from '../schemas/lazy'
import type { AddDistributorInput, UpdateDistributorInput } from '../schemas/distributors'
import { parseInput } from '../schemas/parse'
import { validateId, validatePage } from './validate'

const debug = createDebug('pulp:core:distributors')

export type { AddDistributorInput, UpdateDistributorInput } from '../schemas/distributors'

/** How long removing a distributor waits for its running publish to stop after a cancel. */
const SETTLE_SECONDS = 10

/** A config as checked by its schema (an object, or null for none), with JSON values only. */
function configInput (value: Record<string, unknown> | null | undefined, field: string): JsonObject {
  const config = value ?? {}
  try {
    assertJson(config, `"${field}"`)
  } catch (err: unknown) {
    throw new ValidationError((err as Error).message)
  }
  return config as JsonObject
}

function segments (url: string): string[] {
  return url.split('/').filter((s) => s !== '')
}

/** Equal, or one a path prefix of the other: the two trees would overlap. */
export function relativeUrlsOverlap (a: string, b: string): boolean {
  const sa = segments(a)
  const sb = segments(b)
  const n = Math.min(sa.length, sb.length)
  return sa.slice(0, n).every((s, i) => s === sb[i])
}

/** Where a config conduit reads and writes (the pool, or a transaction) and how it finds relative_url claims. */
export interface ConduitSource {
  db: Knex
  relativeUrlClaims: (relativeUrl: string, excludeRepoId?: string) => Promise<RelativeUrlClaim[]>
}

/**
 * Builds the conduit of validateConfig, distributorAdded and distributorRemoved. The publishing
 * side provides it (it owns the tree a conduit unpublishes from), so this service needs none of it.
 */
export type ConfigConduitFactory = (owner: { repoId: string, distributorId: string }, source: ConduitSource) => ConfigConduit

/** What `pulp.distributors` offers code (the service's other members serve the runner and hooks). */
export type DistributorsApi = Pick<DistributorService, 'add' | 'get' | 'list' | 'update' | 'remove' | 'history'>

/** Distributors on repositories: the same rules for the REST API and for code. */
export class DistributorService {
  readonly #ctx: PulpContext
  readonly #registry: PluginRegistry
  readonly #repositories: RepositoryService
  readonly #tasks: TaskService
  readonly #configConduit: ConfigConduitFactory
  // Adds and updates of this instance run one at a time (an update reads, merges and writes);
  // the wiring lock of #validateAndStore keeps other instances out.
  #queue: Promise<unknown> = Promise.resolve()

  constructor (
    ctx: PulpContext,
    deps: { registry: PluginRegistry, repositories: RepositoryService, tasks: TaskService, configConduit: ConfigConduitFactory }
  ) {
    this.#ctx = ctx
    this.#registry = deps.registry
    this.#repositories = deps.repositories
    this.#tasks = deps.tasks
    this.#configConduit = deps.configConduit
    ctx.beforeRepositoryDelete.push(async (repoId) => { await this.#removeAllOf(repoId) })
  }

  async #serial<T> (work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work)
    this.#queue = run.catch(() => {})
    return await run
  }

  /**
   * Validates and stores a distributor's config so that no other instance can store a
   * conflicting one in between: validation runs first outside (a refusal there is the plugin's
   * 400), then again with the write, in a transaction holding the wiring lock (SQLite's
   * IMMEDIATE transactions serialise writers across processes already). A refusal only the
   * second time means another request stored a conflicting config meanwhile: a ConflictError.
   * Inside, everything goes through the transaction: a SQLite pool may have one connection.
   */
  async #validateAndStore (type: DistributorType, repo: Repository, config: PluginConfig, distributorId: string,
    write: (trx: Knex.Transaction) => Promise<void>): Promise<void> {
    await this.#validate(type, repo, config, this.conduit(repo.id, distributorId))
    await this.#ctx.knex.transaction(async (trx) => {
      await lockWiring(trx)
      try {
        await this.#validate(type, repo, config, this.#conduitOn(trx, repo.id, distributorId))
      } catch (err: unknown) {
        if (err instanceof InvalidConfigError) throw new ConflictError(`${err.message} (stored by another request while this one ran)`, { cause: err })
        throw err
      }
      await write(trx)
    })
  }

  /** A config conduit whose reads and writes go through `db` (a transaction). */
  #conduitOn (db: Knex, repoId: string, distributorId: string): ConfigConduit {
    return this.#configConduit({ repoId, distributorId }, {
      db, relativeUrlClaims: async (url, exclude) => await this.#claimsIn(db, url, exclude)
    })
  }

  /** The registered type of a stored distributor; a ValidationError if it is not registered. */
  typeOf (typeId: string): DistributorType {
    const type = this.#registry.distributorType(typeId)
    if (type === undefined) {
      const known = this.#registry.distributorTypes().map((t) => t.id).join(', ') || 'none'
      throw new ValidationError(`unknown distributor type "${typeId}" (registered: ${known})`)
    }
    return type
  }

  configFor (type: DistributorType, stored: JsonObject, override?: JsonObject): PluginConfig {
    return new PluginConfig({ defaults: type.defaultConfig, stored, override })
  }

  conduit (repoId: string, distributorId: string): ConfigConduit {
    return this.#conduitOn(this.#ctx.knex, repoId, distributorId)
  }

  async add (repoId: string, input: AddDistributorInput): Promise<RepoDistributor> {
    const body = parseInput(schemas().distributors.AddDistributorInput, input, 'a distributor')
    const type = this.typeOf(body.distributorTypeId)
    const id = validateId(body.distributorId ?? type.id, 'distributor_id')
    const stored = mergeStoredConfig(undefined, configInput(body.distributorConfig, 'distributor_config'))
    const autoPublish = body.autoPublish ?? false
    const repo = await this.#repositories.get(validateId(repoId))

    const foreign = Object.entries(repo.contentUnitCounts).filter(([t, n]) => n > 0 && !type.types.includes(t)).map(([t]) => t)
    if (foreign.length > 0) {
      throw new ValidationError(`distributor type "${type.id}" publishes content of type ${type.types.join(', ')}, but repository "${repo.id}" also holds ${foreign.join(', ')}`)
    }
    const exists = (): ConflictError => new ConflictError(`repository "${repo.id}" already has a distributor "${id}"`)
    return await this.#serial(async () => {
      if (await store.findDistributor(this.#ctx.knex, repo.id, id) !== undefined) throw exists()
      try {
        await this.#validateAndStore(type, repo, this.configFor(type, stored), id, async (trx) => {
          if (await store.findDistributor(trx, repo.id, id) !== undefined) throw exists()
          await store.insertDistributor(trx, { repoId: repo.id, id, typeId: type.id, config: stored, autoPublish })
        })
      } catch (err: unknown) {
        if (isUniqueViolation(err)) throw exists()
        throw err
      }
      try {
        await type.create().distributorAdded?.(repo, this.configFor(type, stored), this.conduit(repo.id, id))
      } catch (err: unknown) {
        await store.deleteDistributor(this.#ctx.knex, repo.id, id)
        debug('distributorAdded of %s/%s failed, add undone: %O', repo.id, id, err)
        throw new InvalidConfigError(`distributor "${id}" was not added: its distributorAdded hook failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      }
      debug('added %s/%s (%s)', repo.id, id, type.id)
      return await this.get(repo.id, id)
    })
  }

  async #validate (type: DistributorType, repo: Repository, config: PluginConfig, conduit: ConfigConduit): Promise<void> {
    let result: ValidationResult
    try {
      result = await type.create().validateConfig(repo, config, conduit)
    } catch (err: unknown) {
      if (err instanceof PulpError) throw err
      throw new Error(`validateConfig of distributor type "${type.id}" threw`, { cause: err })
    }
    if (result === null || typeof result !== 'object' || typeof result.valid !== 'boolean') {
      throw new Error(`validateConfig of distributor type "${type.id}" must return { valid, message? }`)
    }
    if (!result.valid) throw new InvalidConfigError(typeof result.message === 'string' && result.message !== '' ? result.message : `invalid config for distributor type "${type.id}"`)
  }

  async get (repoId: string, distributorId: string): Promise<RepoDistributor> {
    const row = await store.findDistributor(this.#ctx.knex, validateId(repoId, 'repo_id'), validateId(distributorId, 'distributor_id'))
    if (row !== undefined) return row
    await this.#repositories.get(repoId)
    throw new NotFoundError(`repository "${repoId}" has no distributor "${distributorId}"`)
  }

  async list (repoId: string, page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<RepoDistributor>> {
    const validPage = validatePage(page)
    await this.#repositories.get(repoId)
    return await store.listDistributors(this.#ctx.knex, repoId, validPage)
  }

  /** Merges config keys (null deletes one), re-validates, then stores. */
  async update (repoId: string, distributorId: string, input: UpdateDistributorInput): Promise<RepoDistributor> {
    const body = parseInput(schemas().distributors.UpdateDistributorInput, input, 'a distributor update')
    const change = configInput(body.distributorConfig, 'distributor_config')
    const autoPublish = body.autoPublish
    return await this.#serial(async () => {
      const row = await this.get(repoId, distributorId)
      const type = this.typeOf(row.distributorTypeId)
      const stored = mergeStoredConfig(row.config, change)
      const write = async (db: Knex): Promise<void> => {
        await store.updateDistributor(db, repoId, row.id, { config: stored, autoPublish })
      }
      if (body.distributorConfig === undefined) await write(this.#ctx.knex)
      else await this.#validateAndStore(type, await this.#repositories.get(repoId), this.configFor(type, stored), row.id, write)
      return await this.get(repoId, row.id)
    })
  }

  /** The publish history of a distributor, newest first. */
  async history (
    repoId: string,
    distributorId: string,
    page?: { limit?: unknown, offset?: unknown }
  ): Promise<PageOf<PublishHistoryEntry>> {
    const validPage = validatePage(page)
    const row = await this.get(repoId, distributorId)
    return await listHistory(this.#ctx.knex, row.repoId, row.id, validPage)
  }

  /** Cancels its tasks, runs `distributorRemoved` (which unpublishes), then removes it. */
  async remove (repoId: string, distributorId: string): Promise<void> {
    const row = await this.get(repoId, distributorId)
    await this.#removeRow(await this.#repositories.get(repoId), row)
  }

  async #removeRow (repo: Repository, row: RepoDistributor): Promise<void> {
    await this.#settleTasks(row)
    const type = this.#registry.distributorType(row.distributorTypeId)
    if (type === undefined) debug('%s/%s: type %s is not registered; removing without distributorRemoved', repo.id, row.id, row.distributorTypeId)
    else await type.create().distributorRemoved?.(repo, this.configFor(type, row.config), this.conduit(repo.id, row.id))
    await store.deleteDistributor(this.#ctx.knex, repo.id, row.id)
    debug('removed %s/%s', repo.id, row.id)
  }

  async #removeAllOf (repoId: string): Promise<void> {
    const repo = await this.#repositories.get(repoId)
    for (const row of await store.allDistributorsOf(this.#ctx.knex, repoId)) await this.#removeRow(repo, row)
  }

  /** Cancels the distributor's waiting and running publishes and waits briefly for them to stop. */
  async #settleTasks (row: RepoDistributor): Promise<void> {
    const active = await listTasks(this.#ctx.knex, { states: ['waiting', 'running'], repoId: row.repoId, distributorId: row.id }, { limit: 1000, offset: 0 })
    for (const task of active.results) {
      await this.#tasks.cancel(task.taskId).catch(() => {})
    }
    for (const task of active.results) {
      try {
        await this.#tasks.wait(task.taskId, { timeout: SETTLE_SECONDS })
      } catch (err: unknown) {
        throw new ConflictError(`a publish of distributor "${row.id}" (task ${task.taskId}) is still running; try again when it has stopped`, { cause: err })
      }
    }
  }

  /**
   * Distributors whose served place overlaps `relativeUrl`: their `relative_url` config (stored,
   * else the registration's default, else what their class's `defaultRelativeUrl` says).
   */
  async relativeUrlClaims (relativeUrl: string, excludeRepoId?: string): Promise<RelativeUrlClaim[]> {
    return await this.#claimsIn(this.#ctx.knex, relativeUrl, excludeRepoId)
  }

  async #claimsIn (db: Knex, relativeUrl: string, excludeRepoId?: string): Promise<RelativeUrlClaim[]> {
    const claims: RelativeUrlClaim[] = []
    for await (const row of store.iterateAllDistributors(db)) {
      if (excludeRepoId !== undefined && row.repoId === excludeRepoId) continue
      const type = this.#registry.distributorType(row.distributorTypeId)
      const url = row.config.relative_url ?? type?.defaultConfig.relative_url ?? type?.Class.defaultRelativeUrl?.({ id: row.repoId })
      if (typeof url === 'string' && relativeUrlsOverlap(url, relativeUrl)) {
        claims.push({ repoId: row.repoId, distributorId: row.id, distributorTypeId: row.distributorTypeId, relativeUrl: url })
      }
    }
    return claims
  }
}
