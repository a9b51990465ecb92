import type { Knex } from 'knex'
import createDebug from 'debug'
import { ConflictError, NotFoundError, ValidationError } from '../errors'
import { isUniqueViolation, type PageOf } from '../storage/rows'
import * as store from '../storage/distributions'
import type { Distribution, DistributionColumns } from '../storage/distributions'
import type { PulpContext } from './context'
import type { EvictionResult } from '../storage/cache-quota'
import { schemas } from '../schemas/lazy'
import type { CreateDistributionInput, UpdateDistributionInput } from '../schemas/distributions'
import { parseInput } from '../schemas/parse'
import { validateId, validatePage } from './validate'

const debug = createDebug('pulp:core:distributions')

export type { CreateDistributionInput, UpdateDistributionInput } from '../schemas/distributions'

/** Distributions: where a remote's content is served, and which repository it joins. */
export class DistributionService {
  readonly #ctx: PulpContext
  readonly #evict: (name: string) => Promise<EvictionResult>

  /** `evict`: brings a distribution's pull-through cache under its `cacheMaxBytes` (pull-through/quota.ts). */
  constructor (ctx: PulpContext, evict: (name: string) => Promise<EvictionResult>) {
    this.#ctx = ctx
    this.#evict = evict
  }

  async create (input: CreateDistributionInput): Promise<Distribution> {
    const { name, ...body } = parseInput(schemas().distributions.CreateDistributionInput, input, 'a distribution')
    const fields: DistributionColumns = {
      basePath: body.basePath, repository: body.repository ?? null, remote: body.remote ?? null, cacheMaxBytes: body.cacheMaxBytes ?? null
    }
    try {
      await this.#ctx.knex.transaction(async (trx) => {
        await store.lockWiring(trx)
        await this.#check(trx, name, fields)
        await store.insertDistribution(trx, name, fields)
      })
    } catch (err: unknown) {
      if (isUniqueViolation(err)) await this.#explainConflict(name, fields.basePath)
      throw err
    }
    debug('created %s at %s', name, fields.basePath)
    this.#ctx.events.emit('distribution-changed', name)
    return await this.get(name)
  }

  async list (page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<Distribution>> {
    return await store.listDistributions(this.#ctx.knex, validatePage(page))
  }

  async get (name: string): Promise<Distribution> {
    const found = await store.findDistribution(this.#ctx.knex, validateId(name, 'name'))
    if (found === undefined) throw new NotFoundError(`distribution "${name}" does not exist`)
    return found
  }

  async update (name: string, input: UpdateDistributionInput): Promise<Distribution> {
    const fields: Partial<DistributionColumns> = parseInput(schemas().distributions.UpdateDistributionInput, input, 'a distribution update')
    validateId(name, 'name')
    try {
      await this.#ctx.knex.transaction(async (trx) => {
        await store.lockWiring(trx)
        if (await store.findDistribution(trx, name) === undefined) throw new NotFoundError(`distribution "${name}" does not exist`)
        await this.#check(trx, name, fields)
        await store.updateDistribution(trx, name, fields)
      })
    } catch (err: unknown) {
      if (isUniqueViolation(err) && fields.basePath !== undefined) await this.#explainConflict(name, fields.basePath)
      throw err
    }
    debug('updated %s', name)
    this.#ctx.events.emit('distribution-changed', name)
    return await this.get(name)
  }

  /**
   * Evicts now what is over the distribution's `cacheMaxBytes` (least recently served first),
   * as a save over the limit and the minutely check do; nothing when it has no limit.
   */
  async reclaim (name: string): Promise<EvictionResult> {
    await this.get(name)
    return await this.#evict(name)
  }

  async delete (name: string): Promise<void> {
    if (!await store.deleteDistribution(this.#ctx.knex, validateId(name, 'name'))) {
      throw new NotFoundError(`distribution "${name}" does not exist`)
    }
    debug('deleted %s', name)
    this.#ctx.events.emit('distribution-changed', name)
  }

  /** References must exist; base paths may not overlap another distribution's. */
  async #check (trx: Knex, name: string, fields: Partial<DistributionColumns>): Promise<void> {
    if (typeof fields.repository === 'string' &&
        await trx('pulp_repositories').where({ id: fields.repository }).first('id') === undefined) {
      throw new ValidationError(`"repository": repository "${fields.repository}" does not exist`)
    }
    if (typeof fields.remote === 'string' &&
        await trx('pulp_remotes').where({ name: fields.remote }).first('name') === undefined) {
      throw new ValidationError(`"remote": remote "${fields.remote}" does not exist`)
    }
    if (fields.basePath !== undefined) {
      const other = await store.findOverlapping(trx, fields.basePath, name)
      if (other !== undefined) throw overlap(fields.basePath, other)
    }
  }

  /** A unique violation: a duplicate name, or a base path taken in a race. */
  async #explainConflict (name: string, basePath: string | undefined): Promise<never> {
    const existing = await store.findDistribution(this.#ctx.knex, name)
    if (existing !== undefined && existing.basePath !== basePath) throw new ConflictError(`distribution "${name}" already exists`)
    const other = basePath === undefined ? undefined : await store.findOverlapping(this.#ctx.knex, basePath, name)
    if (other !== undefined) throw overlap(basePath as string, other)
    throw new ConflictError(`distribution "${name}" already exists`)
  }
}

function overlap (basePath: string, other: Distribution): ConflictError {
  const how = other.basePath === basePath ? 'is the same' : other.basePath.length < basePath.length ? 'contains it' : 'lies inside it'
  return new ConflictError(`base_path "${basePath}" overlaps distribution "${other.name}", whose base_path "${other.basePath}" ${how}`)
}
