import { once } from 'node:events'
import createDebug from 'debug'
import { ConflictError, NotFoundError, TaskTimeoutError, ValidationError } from '../errors'
import * as tasks from '../storage/tasks'
import { ENDED_STATES, TASK_STATES, type Task, type TaskState } from '../storage/tasks'
import type { PageOf } from '../storage/rows'
import type { PulpContext } from './context'
import { schemas } from '../schemas/lazy'
import { check } from '../schemas/parse'
import { validatePage } from './validate'

const debug = createDebug('pulp:core:tasks')

export interface ListTasksInput {
  /** One state, several (an array or comma-separated), or all when absent. */
  state?: unknown
  /** Ids (checked as ids are): only the tasks of this repository, or distributor. */
  repoId?: unknown
  distributorId?: unknown
  limit?: unknown
  offset?: unknown
}

export interface WaitOptions {
  /** Seconds to wait at most; rejects with a TaskTimeoutError (code ERR_PULP_TIMEOUT) after. Default: no limit. */
  timeout?: number
  signal?: AbortSignal
}

export function isEnded (task: Task): boolean {
  return ENDED_STATES.includes(task.state)
}

function parseStates (value: ListTasksInput['state']): TaskState[] | undefined {
  if (value === undefined || value === '') return undefined
  const list = Array.isArray(value) ? value : String(value).split(',')
  return list.map((s) => {
    const state = String(s).trim()
    if (!(TASK_STATES as readonly string[]).includes(state)) throw new ValidationError(`"state" must be one of ${TASK_STATES.join(', ')} (got ${JSON.stringify(state)})`)
    return state as TaskState
  })
}

/** Tasks: read, list, wait for, cancel. The runner (in this or another process) runs them. */
export class TaskService {
  readonly #ctx: PulpContext

  constructor (ctx: PulpContext) {
    this.#ctx = ctx
  }

  async get (taskId: string): Promise<Task> {
    if (typeof taskId !== 'string' || taskId === '' || taskId.length > 36) throw new NotFoundError(`task ${JSON.stringify(taskId)} does not exist`)
    const task = await tasks.findTask(this.#ctx.knex, taskId)
    if (task === undefined) throw new NotFoundError(`task "${taskId}" does not exist`)
    return task
  }

  /** Tasks, newest first. */
  async list (input: ListTasksInput = {}): Promise<PageOf<Task>> {
    const page = validatePage(input)
    const states = parseStates(input.state)
    const { repoId, distributorId } = check(schemas().tasks.TaskFilters, { repoId: input.repoId, distributorId: input.distributorId })
    return await tasks.listTasks(this.#ctx.knex, { states, repoId, distributorId }, page)
  }

  /** Resolves with the task once it has ended (finished, failed, canceled or skipped). */
  async wait (taskId: string, options: WaitOptions = {}): Promise<Task> {
    const { timeout, signal } = options
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0))) throw new ValidationError('"timeout" must be a number of seconds >= 0')
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000
    const pollMs = this.#ctx.options.runner === false ? 1000 : Math.min(1000, this.#ctx.options.runner.pollInterval * 1000)
    for (;;) {
      const task = await this.get(taskId)
      if (isEnded(task)) return task
      signal?.throwIfAborted()
      const left = deadline - Date.now()
      if (left <= 0) throw new TaskTimeoutError(`task "${taskId}" is still ${task.state} after ${timeout} s`)
      // Woken by this process's runner at once; a runner elsewhere is seen by polling.
      const ac = new AbortController()
      const onAbort = (): void => ac.abort()
      signal?.addEventListener('abort', onAbort, { once: true })
      const timer = setTimeout(() => ac.abort(), Math.min(pollMs, left))
      try {
        await this.#until(taskId, ac.signal)
      } finally {
        clearTimeout(timer)
        ac.abort()
        signal?.removeEventListener('abort', onAbort)
      }
    }
  }

  /** Returns when this process ends the task, or when `signal` aborts. */
  async #until (taskId: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const [id] = await once(this.#ctx.events, 'task-ended', { signal }).catch(() => [undefined]) as [string | undefined]
      if (id === taskId) return
    }
  }

  /**
   * Cancels a task: a waiting one ends `canceled` at once; a running one has its signal aborted
   * and `cancelPublishRepo()` called by its runner. A task that already ended is a ConflictError.
   */
  async cancel (taskId: string): Promise<Task> {
    const task = await this.get(taskId)
    if (await tasks.cancelWaiting(this.#ctx.knex, task.taskId)) {
      debug('canceled waiting task %s', taskId)
      this.#ctx.events.emit('task-ended', taskId)
      return await this.get(taskId)
    }
    if (await tasks.requestCancel(this.#ctx.knex, task.taskId)) {
      debug('cancel requested for running task %s', taskId)
      this.#ctx.events.emit('task-cancel', taskId)
      return await this.get(taskId)
    }
    const ended = await this.get(taskId)
    throw new ConflictError(`task "${taskId}" already ended (${ended.state})`)
  }
}
