import type { Repository } from '../storage/repositories'
import type { JsonObject, PluginConfig } from './config'

/** What a distributor type says about itself; `types` are the content type ids it publishes. */
export interface DistributorMetadata {
  id: string
  displayName: string
  types: string[]
}

/** The answer of `validateConfig`: `{ valid: false, message }` becomes HTTP 400 with that message. */
export interface ValidationResult {
  valid: boolean
  message?: string
}

/** Built by the conduit's `buildSuccessReport` / `buildFailureReport` / `buildCancelReport`. */
export interface PublishReport {
  readonly successFlag: boolean
  readonly canceledFlag: boolean
  readonly summary: unknown
  readonly details: unknown
}

/** A content unit as a publish sees it; `storagePath` is its file in the artifact store. */
export interface PublishUnit {
  id: string
  typeId: string
  relativePath: string
  sha256: string
  size: number
  storagePath: string
}

export interface UnitCriteria {
  typeIds?: string[]
}

/** A distributor that claims a place in the served tree (its `relative_url`). */
export interface RelativeUrlClaim {
  repoId: string
  distributorId: string
  distributorTypeId: string
  relativeUrl: string
}

export interface ServeProtocols {
  http: boolean
  https: boolean
}

/** Services for the operations around a publish: validate, added, removed. */
export interface ConfigConduit {
  /** The repository and distributor id the operation is about. */
  readonly repoId: string
  readonly distributorId: string
  /**
   * Distributors (of any repository) whose `relative_url` equals `relativeUrl`, lies inside it
   * or contains it. `excludeRepoId` leaves out that repository's distributors.
   */
  getRepoDistributorsByRelativeUrl: (relativeUrl: string, excludeRepoId?: string) => Promise<RelativeUrlClaim[]>
  /** This distributor's scratchpad (null before it exists). */
  getScratchpad: () => Promise<unknown>
  setScratchpad: (value: unknown) => Promise<void>
  getRepoScratchpad: () => Promise<unknown>
  /** Removes this distributor's links at `publish/http|https/<relativeUrl>` (never another's). */
  unpublish: (relativeUrl: string) => Promise<void>
}

/** Services for one publish run. */
export interface PublishConduit extends ConfigConduit {
  readonly taskId: string
  /** An empty directory for this run; removed afterwards unless `activatePublication` took it. */
  readonly workingDir: string
  /** Aborted when the publish is canceled. */
  readonly signal: AbortSignal
  units: (criteria?: UnitCriteria) => AsyncIterable<PublishUnit>
  /** Saves `report` (plain JSON, else TypeError) as the task's progress; saves are throttled, the last is kept. */
  setProgress: (report: unknown) => void
  setRepoScratchpad: (value: unknown) => Promise<void>
  /** When the last successful publish of this distributor finished. */
  lastPublish: () => Date | null
  buildSuccessReport: (summary?: unknown, details?: unknown) => PublishReport
  buildFailureReport: (summary?: unknown, details?: unknown) => PublishReport
  buildCancelReport: (summary?: unknown, details?: unknown) => PublishReport
  /**
   * Makes the working directory this distributor's current publication, served at
   * `publish/http/<relativeUrl>` and/or `publish/https/<relativeUrl>`: each link is switched by
   * one rename, a protocol set to false loses its link, and the superseded publication is
   * removed after the grace period. Returns the publication's directory.
   */
  activatePublication: (relativeUrl: string, protocols: ServeProtocols) => Promise<string>
}

/**
 * The base class of distributors, after Pulp 2's. Register a subclass with
 * `pulp.registry.registerDistributor(MyDistributor, { defaultConfig })`. A subclass needs a
 * static `metadata()`, `validateConfig`, and either both `publishRepo` and
 * `cancelPublishRepo` or neither. Every operation gets a fresh instance, so keep no state
 * between calls; `cancelPublishRepo()` is called on the instance running `publishRepo`.
 */
export abstract class Distributor {
  /** Decides whether `config` (layered: stored > default) is acceptable for `repo`. */
  abstract validateConfig (
    repo: Readonly<Repository>,
    config: PluginConfig,
    conduit: ConfigConduit
  ): ValidationResult | Promise<ValidationResult>

  /** Publishes `repo`; returns one of the conduit's reports. */
  publishRepo? (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport>

  /** Stops the publish running on this instance (its conduit's signal is already aborted). */
  cancelPublishRepo? (): void | Promise<void>

  /** What a consumer bound to this distributor needs to use it (plain JSON). */
  createConsumerPayload? (repo: Readonly<Repository>, config: PluginConfig, bindingConfig: JsonObject): unknown

  /** Runs after the distributor was added; throwing undoes the add. */
  distributorAdded? (repo: Readonly<Repository>, config: PluginConfig, conduit: ConfigConduit): void | Promise<void>

  /** Runs before the distributor is removed (also when its repository is deleted). */
  distributorRemoved? (repo: Readonly<Repository>, config: PluginConfig, conduit: ConfigConduit): void | Promise<void>
}

/** A distributor class as the registry takes it. */
export type DistributorClass = (new () => Distributor) & {
  metadata: () => DistributorMetadata
  /**
   * Optional: where a distributor of this type without a `relative_url` in its stored or default
   * config serves `repo` (the `web` distributor: the repository id). Other distributors'
   * `getRepoDistributorsByRelativeUrl` then count that place as claimed; without it, such a
   * distributor claims none.
   */
  defaultRelativeUrl?: (repo: Readonly<Pick<Repository, 'id'>>) => string
}
