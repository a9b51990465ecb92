import createDebug from 'debug'
import type { Knex } from 'knex'
import type { ArtifactStore } from '../artifacts/store'
import { validateRelativePath } from '../relative-path'
import { TaskInterruptedError } from '../errors'
import { assertJson } from '../plugins/config'
import type {
  ConfigConduit, PublishConduit, PublishReport, PublishUnit, RelativeUrlClaim, ServeProtocols, UnitCriteria
} from '../plugins/distributor'
import * as distributors from '../storage/distributors'
import * as repositories from '../storage/repositories'
import { ownsTask, saveProgress } from '../storage/tasks'
import { iterateRepositoryUnits } from '../storage/units'
import { cancelReport, failureReport, successReport } from './report'
import type { Owner, PublicationTree } from './tree'

const debug = createDebug('pulp:publish:conduit')

/** Progress is saved at most this often; the last report is always saved with the task's end. */
const PROGRESS_INTERVAL_MS = 250

export interface ConduitDeps {
  knex: Knex
  artifacts: ArtifactStore
  tree: PublicationTree
  relativeUrlClaims: (relativeUrl: string, excludeRepoId?: string) => Promise<RelativeUrlClaim[]>
}

function jsonValue (value: unknown, what: string): unknown {
  assertJson(value, what)
  return structuredClone(value)
}

/** The conduit of validate, added and removed: lookups, scratchpads and unpublishing. */
export function createConfigConduit (deps: ConduitDeps, owner: Owner): ConfigConduit {
  return Object.freeze({
    repoId: owner.repoId,
    distributorId: owner.distributorId,
    getRepoDistributorsByRelativeUrl: async (relativeUrl: string, excludeRepoId?: string) =>
      await deps.relativeUrlClaims(relativeUrl, excludeRepoId),
    getScratchpad: async () => await distributors.getScratchpad(deps.knex, owner.repoId, owner.distributorId),
    setScratchpad: async (value: unknown) =>
      await distributors.setScratchpad(deps.knex, owner.repoId, owner.distributorId, jsonValue(value, 'a scratchpad')),
    getRepoScratchpad: async () => await repositories.getRepoScratchpad(deps.knex, owner.repoId),
    unpublish: async (relativeUrl: string) => { await deps.tree.unpublish(owner, validateRelativePath(relativeUrl, 'relative_url')) }
  })
}

export interface PublishRun {
  owner: Owner
  taskId: string
  workerId: string
  workingDir: string
  signal: AbortSignal
  lastPublish: Date | null
}

/** The conduit of one publish run. */
export class RunConduit implements PublishConduit {
  readonly repoId: string
  readonly distributorId: string
  readonly taskId: string
  readonly workingDir: string
  readonly signal: AbortSignal
  readonly #deps: ConduitDeps
  readonly #run: PublishRun
  readonly #config: ConfigConduit
  #progress: string | undefined
  #savedAt = 0
  #timer: NodeJS.Timeout | undefined
  #saving: Promise<void> = Promise.resolve()
  #activated = false

  constructor (deps: ConduitDeps, run: PublishRun) {
    this.#deps = deps
    this.#run = run
    this.#config = createConfigConduit(deps, run.owner)
    this.repoId = run.owner.repoId
    this.distributorId = run.owner.distributorId
    this.taskId = run.taskId
    this.workingDir = run.workingDir
    this.signal = run.signal
  }

  /** Whether `activatePublication` took the working directory. */
  get activated (): boolean { return this.#activated }

  async * units (criteria: UnitCriteria = {}): AsyncGenerator<PublishUnit> {
    if (criteria.typeIds !== undefined && !Array.isArray(criteria.typeIds)) throw new TypeError('units(): criteria.typeIds must be an array')
    for await (const unit of iterateRepositoryUnits(this.#deps.knex, this.repoId, { typeIds: criteria.typeIds })) {
      yield {
        id: unit.id,
        typeId: unit.typeId,
        relativePath: unit.relativePath,
        sha256: unit.sha256,
        size: unit.size,
        storagePath: this.#deps.artifacts.pathOf(unit.sha256)
      }
    }
  }

  setProgress (report: unknown): void {
    assertJson(report, 'setProgress(report)')
    this.#progress = JSON.stringify(report)
    const wait = this.#savedAt + PROGRESS_INTERVAL_MS - Date.now()
    if (wait <= 0) this.#save()
    else this.#timer ??= setTimeout(() => { this.#timer = undefined; this.#save() }, wait).unref()
  }

  #save (): void {
    const json = this.#progress
    if (json === undefined) return
    this.#savedAt = Date.now()
    // Saves run one after another, so an older report never lands after a newer one.
    this.#saving = this.#saving.then(async () => {
      await saveProgress(this.#deps.knex, this.taskId, this.#run.workerId, json)
    }).catch((err: unknown) => debug('saving progress of %s failed: %O', this.taskId, err))
  }

  /** Stops throttled saves and returns the last report, for the task's final update. */
  async flush (): Promise<string | undefined> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#saving
    return this.#progress
  }

  async getScratchpad (): Promise<unknown> { return await this.#config.getScratchpad() }
  async setScratchpad (value: unknown): Promise<void> { await this.#config.setScratchpad(value) }
  async getRepoScratchpad (): Promise<unknown> { return await this.#config.getRepoScratchpad() }
  async setRepoScratchpad (value: unknown): Promise<void> {
    await repositories.setRepoScratchpad(this.#deps.knex, this.repoId, jsonValue(value, 'a scratchpad'))
  }

  async getRepoDistributorsByRelativeUrl (relativeUrl: string, excludeRepoId?: string): Promise<RelativeUrlClaim[]> {
    return await this.#config.getRepoDistributorsByRelativeUrl(relativeUrl, excludeRepoId)
  }

  async unpublish (relativeUrl: string): Promise<void> { await this.#config.unpublish(relativeUrl) }

  lastPublish (): Date | null {
    return this.#run.lastPublish === null ? null : new Date(this.#run.lastPublish)
  }

  buildSuccessReport (summary?: unknown, details?: unknown): PublishReport { return successReport(summary, details) }
  buildFailureReport (summary?: unknown, details?: unknown): PublishReport { return failureReport(summary, details) }
  buildCancelReport (summary?: unknown, details?: unknown): PublishReport { return cancelReport(summary, details) }

  async activatePublication (relativeUrl: string, protocols: ServeProtocols): Promise<string> {
    validateRelativePath(relativeUrl, 'relative_url')
    if (this.#activated) throw new Error('activatePublication() was already called in this publish')
    this.signal.throwIfAborted()
    // An instance that stalled past its heartbeat timeout lost this task to recovery, and a
    // later publish may already serve newer content: it must not switch the tree back.
    if (!await ownsTask(this.#deps.knex, this.taskId, this.#run.workerId)) {
      throw new TaskInterruptedError(`task ${this.taskId} no longer runs on this instance (it was marked interrupted)`)
    }
    const publication = await this.#deps.tree.finalize(this.workingDir)
    this.#activated = true
    const served = { http: protocols.http === true, https: protocols.https === true }
    await this.#deps.tree.activate(this.#run.owner, publication, relativeUrl, served)
    return publication
  }
}
