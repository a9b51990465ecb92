import createDebug from 'debug'
import { ERROR_CODES } from '../errors'
import type { ResolvedRunnerOptions } from '../options'
import { now } from '../storage/rows'
import { cancelRequested, claimTasks, type Task } from '../storage/tasks'
import { beat, localHost, removeWorker } from '../storage/workers'
import { interrupt, recoverInterrupted } from './recovery'
import { runPublishTask, type RunControl, type RunDeps } from './run-task'

const debug = createDebug('pulp:publish:runner')

export type RunnerState = 'stopped' | 'starting' | 'running' | 'closing' | 'closed'

interface Running extends RunControl {
  task: Task
  cancelSent: boolean
  done: Promise<void>
}

async function within (ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
  try {
    return await Promise.race([work.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs publish tasks from the task table: claims waiting ones (oldest first, one per
 * repository + distributor at a time, at most `concurrency` at once), runs them, and cancels
 * them on request. It polls the table every `pollInterval` seconds, so tasks created by other
 * processes are seen too, and wakes at once for tasks created in this process.
 */
export class PublishRunner {
  readonly #deps: RunDeps
  readonly #options: ResolvedRunnerOptions
  readonly #running = new Map<string, Running>()
  #state: RunnerState = 'stopped'
  #pollTimer: NodeJS.Timeout | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined
  #beating: Promise<void> | undefined
  /** When this process last recorded a beat, by its own clock (only to notice it is late). */
  #lastBeat = 0
  readonly #host = localHost()
  #ticking: Promise<void> | undefined
  #again = false
  readonly #onCreated = (): void => { this.wake() }
  readonly #onCancel = (taskId: string): void => { this.#cancelLocal(taskId) }

  constructor (deps: RunDeps, options: ResolvedRunnerOptions) {
    this.#deps = deps
    this.#options = options
  }

  get state (): RunnerState { return this.#state }
  get runningCount (): number { return this.#running.size }

  /** Registers this instance's heartbeat, recovers interrupted tasks, then starts claiming. */
  async start (): Promise<void> {
    if (this.#state !== 'stopped') return
    this.#state = 'starting'
    await this.#beat()
    await this.#recover()
    if (this.#state !== 'starting') return
    this.#state = 'running'
    this.#deps.ctx.events.on('task-created', this.#onCreated)
    this.#deps.ctx.events.on('task-cancel', this.#onCancel)
    // #heartbeat and #tick catch and log their own failures: nothing is left to reject.
    this.#heartbeatTimer = setInterval(() => { void this.#heartbeat() }, this.#options.heartbeatInterval * 1000).unref()
    this.wake()
  }

  async #beat (): Promise<void> {
    const { knex, dialect, instanceId } = this.#deps.ctx
    await beat(knex, dialect, { id: instanceId, hostname: this.#host, pid: process.pid })
    this.#lastBeat = Date.now()
  }

  /** Fails the tasks of instances that stopped beating; what queued behind them may run now. */
  async #recover (): Promise<void> {
    const { knex, dialect, instanceId } = this.#deps.ctx
    const self = { id: instanceId, host: this.#host }
    const recovered = await recoverInterrupted(knex, dialect, this.#deps.tree, self, this.#options.heartbeatTimeout)
    if (recovered === 0) return
    debug('recovered %d interrupted task(s)', recovered)
    this.wake()
  }

  async #heartbeat (): Promise<void> {
    // A slow database must not pile up beats.
    if (this.#beating !== undefined) return
    this.#beating = (async () => {
      try {
        await this.#beat()
        await this.#recover()
      } catch (err: unknown) {
        debug('heartbeat failed: %O', err)
      }
    })()
    await this.#beating
    this.#beating = undefined
  }

  /** Looks for work now rather than at the next poll. */
  wake (): void {
    if (this.#state !== 'running') return
    clearTimeout(this.#pollTimer)
    this.#pollTimer = setTimeout(() => { void this.#tick() }, 0)
  }

  async #tick (): Promise<void> {
    if (this.#ticking !== undefined) {
      this.#again = true
      return
    }
    this.#ticking = (async () => {
      do {
        this.#again = false
        try {
          await this.#claim()
        } catch (err: unknown) {
          debug('claiming failed: %O', err)
        }
        try {
          await this.#checkCancels()
        } catch (err: unknown) {
          debug('checking for cancels failed: %O', err)
        }
      } while (this.#again && this.#state === 'running')
    })()
    await this.#ticking
    this.#ticking = undefined
    if (this.#state === 'running') {
      clearTimeout(this.#pollTimer)
      this.#pollTimer = setTimeout(() => { void this.#tick() }, this.#options.pollInterval * 1000).unref()
    }
  }

  async #claim (): Promise<void> {
    const free = this.#options.concurrency - this.#running.size
    if (free <= 0 || this.#state !== 'running') return
    // After a stall (a frozen process, a paused VM) others may have taken this instance for
    // dead and removed its row: a task claimed before the next beat would look orphaned.
    if (Date.now() - this.#lastBeat > this.#options.heartbeatInterval * 1000) await this.#beat()
    const { knex, dialect, instanceId } = this.#deps.ctx
    for (const task of await claimTasks(knex, dialect, instanceId, free)) this.#launch(task)
  }

  #launch (task: Task): void {
    const entry: Running = { task, controller: new AbortController(), cancelSent: false, done: Promise.resolve() }
    debug('running %s (%s/%s)', task.taskId, task.repoId, task.distributorId)
    entry.done = (async () => {
      try {
        await runPublishTask(this.#deps, task, entry)
      } catch (err: unknown) {
        debug('%s: recording the end failed: %O', task.taskId, err)
      } finally {
        this.#running.delete(task.taskId)
        this.#deps.ctx.events.emit('task-ended', task.taskId)
        this.wake()
      }
    })()
    this.#running.set(task.taskId, entry)
    if (task.cancelRequested) this.#cancelLocal(task.taskId)
  }

  /** Cancels of tasks requested in other processes reach this runner through the table. */
  async #checkCancels (): Promise<void> {
    const ids = [...this.#running.values()].filter((r) => !r.cancelSent).map((r) => r.task.taskId)
    for (const id of await cancelRequested(this.#deps.ctx.knex, ids)) this.#cancelLocal(id)
  }

  /** Aborts the signal of a publish running here and calls `cancelPublishRepo()` on its instance. */
  #cancelLocal (taskId: string): void {
    const entry = this.#running.get(taskId)
    if (entry === undefined || entry.cancelSent) return
    entry.cancelSent = true
    entry.controller.abort()
    debug('canceling %s', taskId)
    const instance = entry.instance
    if (instance?.cancelPublishRepo === undefined) return
    Promise.resolve().then(async () => { await instance.cancelPublishRepo?.() })
      .catch((err: unknown) => debug('cancelPublishRepo of %s threw: %O', taskId, err))
  }

  /**
   * Stops claiming, waits up to `closeTimeout` seconds for running publishes, cancels those
   * still running and waits for them as long again; any left are marked interrupted.
   */
  async close (): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return
    const wasStarted = this.#state !== 'stopped'
    this.#state = 'closing'
    this.#deps.ctx.events.off('task-created', this.#onCreated)
    this.#deps.ctx.events.off('task-cancel', this.#onCancel)
    clearTimeout(this.#pollTimer)
    clearInterval(this.#heartbeatTimer)
    // A beat still in flight would bring back the row removed below.
    await this.#beating
    await this.#ticking
    const ms = this.#options.closeTimeout * 1000
    const all = (): Promise<unknown> => Promise.all([...this.#running.values()].map(async (r) => await r.done))
    if (this.#running.size > 0 && !await within(ms, all())) {
      debug('canceling %d publish(es) still running at close', this.#running.size)
      for (const id of [...this.#running.keys()]) this.#cancelLocal(id)
      if (!await within(ms, all())) {
        const { knex, instanceId } = this.#deps.ctx
        const error = { code: ERROR_CODES.TASK_INTERRUPTED, message: `interrupted: the instance closed at ${now()} and the publish did not stop` }
        for (const { task } of this.#running.values()) {
          await interrupt(knex, this.#deps.tree, { ...task, workerId: instanceId }, error)
            .catch((err: unknown) => { debug('could not mark %s interrupted: %O', task.taskId, err) })
        }
      }
    }
    if (wasStarted) await removeWorker(this.#deps.ctx.knex, this.#deps.ctx.instanceId).catch(() => {})
    this.#state = 'closed'
  }
}
