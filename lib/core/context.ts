import { EventEmitter } from 'node:events'
import type { Knex } from 'knex'
import type { ResolvedOptions } from '../options'
import type { Dialect } from '../storage/connection'
import type { ArtifactStore } from '../artifacts/store'

export interface PulpEventMap {
  /** A repository's content changed (units added or removed). */
  'content-changed': [repositoryId: string]
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
}
