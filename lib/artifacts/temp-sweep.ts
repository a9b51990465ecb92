import createDebug from 'debug'
import type { Knex } from 'knex'
import { DEFAULT_RUNNER, type ResolvedOptions } from '../options'
import type { Dialect } from '../storage/connection'
import { beat, databaseNow, findWorkers, isAlive, localHost, removeWorker } from '../storage/workers'
import type { ArtifactStore } from './store'
import type { SweepJudge } from './temp-files'

const debug = createDebug('pulp:artifacts:temp')

/** Sweeps at least this often, whatever the heartbeat timeout. */
const MIN_EVERY_MS = 60_000

/** What the sweep uses of its instance's context (core/context.ts), and no more. */
export interface SweepContext {
  readonly options: Pick<ResolvedOptions, 'runner'>
  readonly knex: Knex
  readonly dialect: Dialect
  readonly instanceId: string
  readonly artifacts: ArtifactStore
}

/**
 * Sweeps `tmp/` at start-up and then every `max(heartbeatTimeout, 60 s)` until `close()`.
 * Instances sharing the volume know each other by the workers' heartbeats: another instance's
 * files stay while it beats (and, on this host, while its process exists). An instance without
 * a runner beats here, so its downloads and uploads count as alive too.
 */
export class TempSweeper {
  readonly #ctx: SweepContext
  readonly #everyMs: number
  readonly #host = localHost()
  #timer: NodeJS.Timeout | undefined
  #beater: NodeJS.Timeout | undefined
  #sweeping: Promise<unknown> = Promise.resolve()
  #beating: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor (ctx: SweepContext, options: { everyMs?: number } = {}) {
    this.#ctx = ctx
    this.#everyMs = options.everyMs ?? Math.max(this.#settings.heartbeatTimeout * 1000, MIN_EVERY_MS)
  }

  get #settings (): { heartbeatInterval: number, heartbeatTimeout: number } {
    return this.#ctx.options.runner === false ? DEFAULT_RUNNER : this.#ctx.options.runner
  }

  /** Removes the temp files of no running upload or download; returns their names. */
  async sweep (): Promise<string[]> {
    const run = this.#ctx.artifacts.temp.sweep(async (others) => await this.#judge(others))
    this.#sweeping = run.catch(() => {})
    return await run
  }

  async #judge (others: string[]): Promise<SweepJudge> {
    const { knex, dialect } = this.#ctx
    const { heartbeatTimeout } = this.#settings
    const workers = await findWorkers(knex, others)
    const observer = { host: this.#host, pid: process.pid, now: await databaseNow(knex, dialect) }
    return { isAlive: (id) => isAlive(workers.get(id), heartbeatTimeout, observer) }
  }

  async start (): Promise<void> {
    if (this.#ctx.options.runner === false) {
      await this.#beat()
      this.#beater = setInterval(() => { this.#beat().catch((err: unknown) => debug('heartbeat failed: %O', err)) }, this.#settings.heartbeatInterval * 1000).unref()
    }
    await this.sweep()
    if (this.#closed) return
    this.#timer = setInterval(() => {
      this.sweep().catch((err: unknown) => debug('sweep failed: %O', err))
    }, this.#everyMs).unref()
  }

  async #beat (): Promise<void> {
    const beating = beat(this.#ctx.knex, this.#ctx.dialect, { id: this.#ctx.instanceId, hostname: this.#host, pid: process.pid })
    this.#beating = beating.catch(() => {})
    await beating
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    clearInterval(this.#beater)
    await this.#sweeping
    // A beat still in flight would bring back the row removed below.
    await this.#beating
    if (this.#beater !== undefined) await removeWorker(this.#ctx.knex, this.#ctx.instanceId).catch(() => {})
  }
}
