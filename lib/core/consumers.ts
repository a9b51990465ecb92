import createDebug from 'debug'
import { ConflictError, NotFoundError, ValidationError } from '../errors'
import { assertJson, type JsonObject } from '../plugins/config'
import * as store from '../storage/consumers'
import type { Binding, Consumer, ConsumerFields } from '../storage/consumers'
import type { RepoDistributor } from '../storage/distributors'
import { isUniqueViolation, type PageOf } from '../storage/rows'
import type { PulpContext } from './context'
import type { DistributorService } from './distributors'
import type { RepositoryService } from './repositories'
import { schemas } from '../schemas/lazy'
import type { BindInput, CreateConsumerInput } from '../schemas/consumers'
import { parseInput } from '../schemas/parse'
import { validateId, validatePage } from './validate'

const debug = createDebug('pulp:core:consumers')

export type { BindInput, CreateConsumerInput } from '../schemas/consumers'

/** A binding with what the distributor tells the consumer: its payload, made afresh. */
export interface BindingWithDetails extends Binding {
  details: unknown
}

/** Consumers and their bindings to repositories' distributors, as in Pulp 2. */
export class ConsumerService {
  readonly #ctx: PulpContext
  readonly #repositories: RepositoryService
  readonly #distributors: DistributorService

  constructor (ctx: PulpContext, deps: { repositories: RepositoryService, distributors: DistributorService }) {
    this.#ctx = ctx
    this.#repositories = deps.repositories
    this.#distributors = deps.distributors
  }

  async create (input: CreateConsumerInput): Promise<Consumer> {
    const { id, displayName, description, notes } = parseInput(schemas().consumers.CreateConsumerInput, input, 'a consumer')
    const fields: ConsumerFields = { displayName, description, notes: notes ?? {} }
    try {
      await store.insertConsumer(this.#ctx.knex, id, fields)
    } catch (err: unknown) {
      if (isUniqueViolation(err)) throw new ConflictError(`consumer "${id}" already exists`)
      throw err
    }
    debug('created consumer %s', id)
    return await this.get(id)
  }

  async get (id: string): Promise<Consumer> {
    const consumer = await store.findConsumer(this.#ctx.knex, validateId(id))
    if (consumer === undefined) throw new NotFoundError(`consumer "${id}" does not exist`)
    return consumer
  }

  async list (page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<Consumer>> {
    return await store.listConsumers(this.#ctx.knex, validatePage(page))
  }

  /** Deletes the consumer and its bindings. */
  async delete (id: string): Promise<void> {
    if (!await store.deleteConsumer(this.#ctx.knex, validateId(id))) throw new NotFoundError(`consumer "${id}" does not exist`)
  }

  /** Binds a consumer to a repository's distributor; `details` is the distributor's payload. */
  async bind (consumerId: string, input: BindInput): Promise<BindingWithDetails> {
    const body = parseInput(schemas().consumers.BindInput, input, 'a binding')
    const bindingConfig = body.bindingConfig ?? {}
    try {
      assertJson(bindingConfig, '"binding_config"')
    } catch (err: unknown) {
      throw new ValidationError((err as Error).message)
    }
    await this.get(consumerId)
    const row = await this.#distributors.get(body.repoId, body.distributorId)
    const details = await this.#payload(row, bindingConfig)
    let binding: Binding
    try {
      binding = await store.insertBinding(this.#ctx.knex, { consumerId, repoId: row.repoId, distributorId: row.id, bindingConfig })
    } catch (err: unknown) {
      if (isUniqueViolation(err)) throw new ConflictError(`consumer "${consumerId}" is already bound to distributor "${row.id}" of repository "${row.repoId}"`)
      throw err
    }
    debug('bound %s to %s/%s', consumerId, row.repoId, row.id)
    return { ...binding, details }
  }

  /** The consumer's bindings, each with a payload made now (so it reflects the current config). */
  async bindings (consumerId: string, page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<BindingWithDetails>> {
    const validPage = validatePage(page)
    await this.get(consumerId)
    const found = await store.listBindings(this.#ctx.knex, consumerId, validPage)
    const results: BindingWithDetails[] = []
    for (const binding of found.results) {
      let details: unknown = null
      try {
        details = await this.#payload(await this.#distributors.get(binding.repoId, binding.distributorId), binding.bindingConfig)
      } catch (err: unknown) {
        debug('no payload for %s/%s: %s', binding.repoId, binding.distributorId, (err as Error).message)
      }
      results.push({ ...binding, details })
    }
    return { count: found.count, results }
  }

  async unbind (consumerId: string, repoId: string, distributorId: string): Promise<void> {
    await this.get(consumerId)
    if (!await store.deleteBinding(this.#ctx.knex, consumerId, validateId(repoId, 'repo_id'), validateId(distributorId, 'distributor_id'))) {
      throw new NotFoundError(`consumer "${consumerId}" is not bound to distributor "${distributorId}" of repository "${repoId}"`)
    }
  }

  /** `createConsumerPayload(repo, config, bindingConfig)` on a fresh instance; `{}` if it has none. */
  async #payload (row: RepoDistributor, bindingConfig: JsonObject): Promise<unknown> {
    const type = this.#distributors.typeOf(row.distributorTypeId)
    const instance = type.create()
    if (typeof instance.createConsumerPayload !== 'function') return {}
    const repo = await this.#repositories.get(row.repoId)
    const config = this.#distributors.configFor(type, row.config)
    const payload: unknown = await instance.createConsumerPayload(repo, config, structuredClone(bindingConfig))
    assertJson(payload ?? null, `the consumer payload of distributor type "${type.id}"`)
    return payload ?? null
  }
}
