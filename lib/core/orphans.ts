import { ERROR_CODES } from '../errors'
import { parseInput } from '../schemas/parse'
import { schemas } from '../schemas/lazy'
import type { OrphanCleanupInput } from '../schemas/tasks'
import { cleanupOrphans, type CleanupResult } from '../orphans/cleanup'
import { endTask, insertRunningTask, type Task } from '../storage/tasks'
import type { PulpContext } from './context'

/** Minutes an unreferenced artifact is kept by default (pulpcore's ORPHAN_PROTECTION_TIME). */
export const DEFAULT_ORPHAN_PROTECTION_TIME = 1440

export type { OrphanCleanupInput } from '../schemas/tasks'

/** Orphan cleanup as a task this instance runs at once (one at a time per instance). */
export class OrphanService {
  readonly #ctx: PulpContext
  readonly #running = new Set<Promise<void>>()

  constructor (ctx: PulpContext) {
    this.#ctx = ctx
  }

  /** Starts a cleanup; resolves with its task (`tasks.wait` follows it; its result says what went). */
  async cleanup (input: OrphanCleanupInput = {}): Promise<Task> {
    const minutes = parseInput(schemas().tasks.OrphanCleanupInput, input, 'the cleanup options').orphanProtectionTime ?? DEFAULT_ORPHAN_PROTECTION_TIME
    const task = await insertRunningTask(this.#ctx.knex, 'orphan_cleanup', this.#ctx.instanceId, { orphanProtectionTime: minutes })
    const run = this.#run(task.taskId, minutes)
    this.#running.add(run)
    void run.finally(() => this.#running.delete(run))
    return task
  }

  /** Waits for cleanups under way (they are short, and stopping one halfway is safe anyway). */
  async close (): Promise<void> {
    await Promise.all([...this.#running])
  }

  async #run (taskId: string, minutes: number): Promise<void> {
    const { knex, instanceId } = this.#ctx
    let end: Parameters<typeof endTask>[3]
    try {
      const freed: CleanupResult = await cleanupOrphans(this.#ctx, minutes)
      const summary = `removed ${freed.files} artifact file(s), ${freed.bytes} bytes, and ${freed.units} unit(s)`
      end = { state: 'finished', result: { result: 'success', summary, details: freed }, error: null }
    } catch (err: unknown) {
      this.#ctx.log.part('pulp:orphans').error({ err, taskId }, 'orphan cleanup failed')
      const message = (err as Error)?.message ?? String(err)
      end = { state: 'failed', result: { result: 'error', summary: message, details: null }, error: { code: ERROR_CODES.ORPHAN_CLEANUP, message } }
    }
    await endTask(knex, taskId, instanceId, end)
      .catch((err: unknown) => this.#ctx.log.part('pulp:orphans').error({ err, taskId }, 'recording the end of an orphan cleanup failed'))
    this.#ctx.events.emit('task-ended', taskId)
  }
}
