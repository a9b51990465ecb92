/**
 * Distributors for the multi-process runner tests. Each instance process registers them with
 * its name and a log directory shared by all processes; every step they take is appended, as
 * one JSON line, to `<logDir>/<instance>.jsonl`, so the test sees what ran where and when.
 */
import path from 'node:path'
import { appendFile, access } from 'node:fs/promises'
import {
  Distributor, WebDistributor, type DistributorClass, type DistributorMetadata, type PluginConfig, type PublishConduit,
  type PublishReport, type Repository, type ServeProtocols
} from '../../lib'

/** One line of an instance's log. */
export interface ScaleEvent {
  event: string
  type: string
  taskId: string
  repo: string
  instance: string
  /** Numbers the distributor objects of one process: proves which object a call reached. */
  serial: number
  /** Milliseconds since the epoch; all processes share the host's clock. */
  at: number
  signalAborted?: boolean
  code?: string
}

/** The file whose existence lets a held `slow-web` publish activate its publication. */
export function releaseFile (logDir: string, taskId: string): string {
  return path.join(logDir, `release-${taskId}`)
}

async function exists (file: string): Promise<boolean> {
  return await access(file).then(() => true, () => false)
}

async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}

export function scaleDistributors (instance: string, logDir: string): DistributorClass[] {
  let serials = 0
  const logFile = path.join(logDir, `${instance}.jsonl`)
  const record = async (
    d: { serial: number, type: string },
    conduit: PublishConduit,
    event: string,
    extra: Partial<ScaleEvent> = {}
  ): Promise<void> => {
    const line: ScaleEvent = {
      event, type: d.type, taskId: conduit.taskId, repo: conduit.repoId, instance, serial: d.serial, at: Date.now(), ...extra
    }
    await appendFile(logFile, JSON.stringify(line) + '\n')
  }

  /** Records its start and end around a pause of `ms` (config, default 100) milliseconds. */
  class Recording extends Distributor {
    static metadata (): DistributorMetadata { return { id: 'recording', displayName: 'Recording', types: ['file'] } }
    readonly serial = ++serials
    readonly type = 'recording'
    #conduit: PublishConduit | undefined

    async validateConfig (): Promise<{ valid: true }> { return { valid: true } }

    override async publishRepo (_repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
      this.#conduit = conduit
      await record(this, conduit, 'start')
      await pause(Number(config.get('ms', 100)), conduit.signal)
      await record(this, conduit, 'end', { signalAborted: conduit.signal.aborted })
      return conduit.signal.aborted ? conduit.buildCancelReport('canceled') : conduit.buildSuccessReport({ instance })
    }

    override async cancelPublishRepo (): Promise<void> {
      if (this.#conduit !== undefined) await record(this, this.#conduit, 'cancel', { signalAborted: this.#conduit.signal.aborted })
    }
  }

  /** Ignores its signal: only `cancelPublishRepo()` on this very object ends its publish. */
  class Held extends Distributor {
    static metadata (): DistributorMetadata { return { id: 'held', displayName: 'Held until canceled', types: ['file'] } }
    readonly serial = ++serials
    readonly type = 'held'
    #conduit: PublishConduit | undefined
    #stop: (() => void) | undefined

    async validateConfig (): Promise<{ valid: true }> { return { valid: true } }

    override async publishRepo (_repo: Readonly<Repository>, conduit: PublishConduit): Promise<PublishReport> {
      this.#conduit = conduit
      const stopped = new Promise<void>((resolve) => { this.#stop = resolve })
      await record(this, conduit, 'start')
      await stopped
      await record(this, conduit, 'stopped')
      return conduit.buildCancelReport('stopped by cancelPublishRepo')
    }

    override async cancelPublishRepo (): Promise<void> {
      if (this.#conduit === undefined) return
      await record(this, this.#conduit, 'cancel', { signalAborted: this.#conduit.signal.aborted })
      this.#stop?.()
    }
  }

  /**
   * The built-in web distributor with a slow step: with `hold: true` in the override config,
   * its publication is built and then waits, before it is activated, until the test creates
   * `releaseFile(logDir, taskId)` (or the publish is aborted).
   */
  class SlowWeb extends WebDistributor {
    static override metadata (): DistributorMetadata { return { id: 'slow-web', displayName: 'Web, held before activation', types: ['file'] } }
    readonly serial = ++serials
    readonly type = 'slow-web'

    override async publishRepo (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
      await record(this, conduit, 'start')
      if (config.get('hold') !== true) return await super.publishRepo(repo, conduit, config)
      const activate = async (relativeUrl: string, protocols: ServeProtocols): Promise<string> => {
        await record(this, conduit, 'hold')
        while (!await exists(releaseFile(logDir, conduit.taskId))) {
          if (conduit.signal.aborted) {
            await record(this, conduit, 'aborted')
            throw conduit.signal.reason
          }
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
        await record(this, conduit, 'activating')
        try {
          return await conduit.activatePublication(relativeUrl, protocols)
        } catch (err: unknown) {
          await record(this, conduit, 'refused', { code: String((err as { code?: unknown }).code), signalAborted: conduit.signal.aborted })
          throw err
        }
      }
      // The conduit keeps private state: every other member is its own, bound to it.
      const held = new Proxy(conduit, {
        get (target, key) {
          if (key === 'activatePublication') return activate
          const value = Reflect.get(target, key, target) as unknown
          return typeof value === 'function' ? value.bind(target) : value
        }
      })
      return await super.publishRepo(repo, held, config)
    }
  }

  return [Recording, Held, SlowWeb]
}
