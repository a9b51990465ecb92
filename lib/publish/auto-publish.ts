import createDebug from 'debug'
import type { PulpContext } from '../core/context'
import { allDistributorsOf } from '../storage/distributors'

const debug = createDebug('pulp:publish:auto')

/**
 * Publishes a repository's `auto_publish` distributors after its content changed, once
 * `autoPublishDelay` seconds pass without a further change: a burst of uploads gives one
 * publish. Timers are per repository, unref'd, and cleared by `close()`.
 */
export class AutoPublisher {
  readonly #ctx: PulpContext
  readonly #publish: (repoId: string, distributorId: string) => Promise<unknown>
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #onChange = (repoId: string): void => { this.#schedule(repoId) }

  constructor (ctx: PulpContext, publish: (repoId: string, distributorId: string) => Promise<unknown>) {
    this.#ctx = ctx
    this.#publish = publish
  }

  start (): void {
    this.#ctx.events.on('content-changed', this.#onChange)
  }

  #schedule (repoId: string): void {
    clearTimeout(this.#timers.get(repoId))
    const timer = setTimeout(() => {
      this.#timers.delete(repoId)
      this.#fire(repoId).catch((err: unknown) => debug('auto-publish of %s failed: %O', repoId, err))
    }, this.#ctx.options.autoPublishDelay * 1000)
    timer.unref()
    this.#timers.set(repoId, timer)
  }

  async #fire (repoId: string): Promise<void> {
    for (const d of await allDistributorsOf(this.#ctx.knex, repoId)) {
      if (!d.autoPublish) continue
      try {
        const task = await this.#publish(repoId, d.id)
        debug('%s/%s auto-published: %o', repoId, d.id, (task as { taskId?: string }).taskId)
      } catch (err: unknown) {
        debug('%s/%s: auto-publish refused: %s', repoId, d.id, (err as Error).message)
      }
    }
  }

  close (): void {
    this.#ctx.events.off('content-changed', this.#onChange)
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }
}
