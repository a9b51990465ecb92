import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import type { ResolvedOptions } from '../options'
import type { Dialect } from '../storage/connection'
import { ArtifactStore } from '../artifacts/store'
import { FrontServer } from '../http/accel'
import { WholeBodies } from '../http/send-file'
import { PulpLog } from '../log/logger'
import { PulpMetrics } from '../metrics/metrics'
import { countTasks, storageBytes } from '../metrics/sources'

export interface PulpEventMap {
  /** A repository's content changed (units added or removed). */
  'content-changed': [repositoryId: string]
  /** A remote was updated or deleted: its connections and remembered 404s are stale. */
  'remote-changed': [remoteName: string]
  /** A distribution was created, updated or deleted. */
  'distribution-changed': [name: string]
  /** A task was created in this process: the runner claims it without waiting for its poll. */
  'task-created': [taskId: string]
  /** Someone in this process asked to cancel a running task. */
  'task-cancel': [taskId: string]
  /** A task ended (in this process). */
  'task-ended': [taskId: string]
}

/** Work other parts must finish before a repository disappears (e.g. unpublishing). */
export type BeforeRepositoryDelete = (repositoryId: string) => Promise<void>

/** Everything one middleware instance shares between its parts; nothing here is global. */
export interface PulpContext {
  readonly options: ResolvedOptions
  readonly knex: Knex
  readonly dialect: Dialect
  readonly artifacts: ArtifactStore
  readonly events: EventEmitter<PulpEventMap>
  /** This instance's id: names it in task claims, heartbeats and `Via` headers. */
  readonly instanceId: string
  readonly beforeRepositoryDelete: BeforeRepositoryDelete[]
  /** Reports what the host app's operators must see; redacts every line. */
  readonly log: PulpLog
  /** Counters and the registry behind `GET /metrics`; undefined under `metrics: false`. */
  readonly metrics: PulpMetrics | undefined
  /** Names large files for the front server to send (the `accel` option); undefined when off. */
  readonly accel: FrontServer | undefined
  /** This instance's budget and buffers for file bodies read whole (static tree and HITs). */
  readonly wholeBodies: WholeBodies
}

/** The context of a new instance on an open connection. */
export function createContext (
  options: ResolvedOptions,
  connection: { knex: Knex, dialect: Dialect },
  instanceId: string = randomUUID()
): PulpContext {
  const artifacts = new ArtifactStore(options.dataDir, instanceId)
  const { knex } = connection
  return {
    options,
    knex,
    dialect: connection.dialect,
    artifacts,
    events: new EventEmitter<PulpEventMap>(),
    instanceId,
    beforeRepositoryDelete: [],
    log: new PulpLog(options.logger),
    metrics: options.metrics
      ? new PulpMetrics({ tasks: async () => await countTasks(knex), storage: async () => await storageBytes(knex, artifacts.tmpDir) })
      : undefined,
    accel: options.accel === false ? undefined : new FrontServer(options.accel, options.dataDir),
    wholeBodies: new WholeBodies()
  }
}
