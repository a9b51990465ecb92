import createDebug from 'debug'
import { ValidationError } from '../errors'
import { assertJson, type JsonObject } from '../plugins/config'
import { insertPublishTask, type Task } from '../storage/tasks'
import type { PulpContext } from './context'
import type { DistributorService } from './distributors'
import type { PublishRequest } from '../schemas/distributors'
import { schemas } from '../schemas/lazy'
import { checkField } from '../schemas/parse'

const debug = createDebug('pulp:core:publish')

export interface PublishOptions {
  /** The top config layer for this publish only; `force_full: true` publishes even if nothing changed. */
  overrideConfig?: PublishRequest['overrideConfig']
}

/** Starting publishes. */
export class PublishService {
  readonly #ctx: PulpContext
  readonly #distributors: DistributorService

  constructor (ctx: PulpContext, distributors: DistributorService) {
    this.#ctx = ctx
    this.#distributors = distributors
  }

  /** Queues a publish of a repository's distributor; returns its task (state `waiting`). */
  async publish (repoId: string, distributorId: string, options: PublishOptions = {}): Promise<Task> {
    if (options === null || typeof options !== 'object') throw new ValidationError('publish options must be an object { overrideConfig? }')
    // No override (an auto-publish after an upload) needs no schema, so zod stays unloaded (lazy.ts).
    const override = options.overrideConfig === undefined
      ? {}
      : checkField(schemas().distributors.PublishRequest.shape.overrideConfig, options.overrideConfig, 'override_config') ?? {}
    try {
      assertJson(override, '"override_config"')
    } catch (err: unknown) {
      throw new ValidationError((err as Error).message)
    }
    const row = await this.#distributors.get(repoId, distributorId)
    const type = this.#distributors.typeOf(row.distributorTypeId)
    if (!type.publishes) throw new ValidationError(`distributor type "${type.id}" publishes nothing (it has no publishRepo)`)
    const task = await insertPublishTask(this.#ctx.knex, row.repoId, row.id, override as JsonObject)
    debug('queued %s: publish %s/%s', task.taskId, row.repoId, row.id)
    this.#ctx.events.emit('task-created', task.taskId)
    return task
  }
}
