import {
  Distributor, WebDistributor, type ConfigConduit, type DistributorClass, type DistributorMetadata, type PluginConfig,
  type PublishConduit, type PublishReport, type Repository, type ServeProtocols, type ValidationResult
} from '../../lib'

/** A promise with its resolve exposed: lets a test hold a publish at a known point. */
export interface Gate<T = void> {
  promise: Promise<T>
  open: (value: T) => void
  opened: boolean
}

export function gate<T = void> (): Gate<T> {
  let open!: (value: T) => void
  const g: Gate<T> = { promise: new Promise<T>((resolve) => { open = resolve }), open: (v) => { g.opened = true; open(v) }, opened: false }
  return g
}

/** Resolves when `signal` aborts. */
export async function aborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

export interface PublishCall {
  instance: Distributor
  repo: Readonly<Repository>
  conduit: PublishConduit
  config: PluginConfig
}

/** What a scripted distributor saw: every instance and every call, in order. */
export interface Probe {
  instances: Distributor[]
  validated: Array<{ instance: Distributor, repo: Readonly<Repository>, config: Record<string, unknown>, conduit: ConfigConduit }>
  published: PublishCall[]
  canceled: Distributor[]
  added: Array<{ instance: Distributor, repoId: string, config: Record<string, unknown> }>
  removed: Array<{ instance: Distributor, repoId: string, config: Record<string, unknown> }>
  payloads: Array<{ instance: Distributor, bindingConfig: Record<string, unknown> }>
}

export interface Script {
  id?: string
  types?: string[]
  validate?: (repo: Readonly<Repository>, config: PluginConfig, conduit: ConfigConduit) => ValidationResult | Promise<ValidationResult>
  /** Default: a success report with the number of units. */
  publish?: (call: PublishCall) => Promise<unknown>
  cancel?: (instance: Distributor) => void | Promise<void>
  added?: (repo: Readonly<Repository>, config: PluginConfig) => void | Promise<void>
  removed?: (repo: Readonly<Repository>, config: PluginConfig) => void | Promise<void>
  payload?: (repo: Readonly<Repository>, config: PluginConfig, bindingConfig: Record<string, unknown>) => unknown
}

/**
 * A distributor class whose behaviour a test scripts, with a probe recording what reached it.
 * Each call builds a new class, so nothing is shared between tests.
 */
export function scriptedDistributor (script: Script = {}): { Class: DistributorClass, probe: Probe } {
  const probe: Probe = { instances: [], validated: [], published: [], canceled: [], added: [], removed: [], payloads: [] }
  const id = script.id ?? 'scripted'
  const types = script.types ?? ['file']

  class Scripted extends Distributor {
    static metadata (): { id: string, displayName: string, types: string[] } {
      return { id, displayName: `Scripted ${id}`, types }
    }

    constructor () {
      super()
      probe.instances.push(this)
    }

    async validateConfig (repo: Readonly<Repository>, config: PluginConfig, conduit: ConfigConduit): Promise<ValidationResult> {
      probe.validated.push({ instance: this, repo, config: config.flatten(), conduit })
      return await (script.validate?.(repo, config, conduit) ?? { valid: true })
    }

    override async publishRepo (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
      const call = { instance: this, repo, conduit, config }
      probe.published.push(call)
      if (script.publish !== undefined) return await script.publish(call) as PublishReport
      let units = 0
      for await (const _unit of conduit.units()) units++
      return conduit.buildSuccessReport({ units })
    }

    override async cancelPublishRepo (): Promise<void> {
      probe.canceled.push(this)
      await script.cancel?.(this)
    }

    override async distributorAdded (repo: Readonly<Repository>, config: PluginConfig): Promise<void> {
      probe.added.push({ instance: this, repoId: repo.id, config: config.flatten() })
      await script.added?.(repo, config)
    }

    override async distributorRemoved (repo: Readonly<Repository>, config: PluginConfig): Promise<void> {
      probe.removed.push({ instance: this, repoId: repo.id, config: config.flatten() })
      await script.removed?.(repo, config)
    }

    override createConsumerPayload (repo: Readonly<Repository>, config: PluginConfig, bindingConfig: Record<string, unknown>): unknown {
      probe.payloads.push({ instance: this, bindingConfig })
      return script.payload?.(repo, config, bindingConfig) ?? { repo: repo.id, config: config.flatten(), binding: bindingConfig }
    }
  }
  return { Class: Scripted, probe }
}

/**
 * The real `web` distributor as type `held-web`: a publish whose override config has
 * `hold: true` calls `hold` at its activation step instead of switching the links; `hold` may
 * switch them itself (`activate`) before it waits. Without `hold`, it never holds.
 */
export function heldWebDistributor (hold?: (conduit: PublishConduit, activate: () => Promise<string>) => Promise<void>): DistributorClass {
  return class HeldWeb extends WebDistributor {
    static override metadata (): DistributorMetadata {
      return { ...WebDistributor.metadata(), id: 'held-web' }
    }

    override async publishRepo (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
      if (hold === undefined || config.get('hold') !== true) return await super.publishRepo(repo, conduit, config)
      const activatePublication = async (relativeUrl: string, protocols: ServeProtocols): Promise<string> => {
        let publication = ''
        await hold(conduit, async () => { publication = await conduit.activatePublication(relativeUrl, protocols); return publication })
        return publication
      }
      // The conduit keeps private fields: its own methods run bound to it.
      const held = new Proxy(conduit, {
        get: (target, key) => {
          if (key === 'activatePublication') return activatePublication
          const value: unknown = Reflect.get(target, key, target)
          return typeof value === 'function' ? value.bind(target) : value
        }
      })
      return await super.publishRepo(repo, held, config)
    }
  }
}
