import type { PulpContext } from './core/context'
import { RepositoryService } from './core/repositories'
import { createPublishing, type Publishing } from './publish/publishing'
import { createRegistry } from './plugins/builtins'
import type { PluginRegistry } from './plugins/registry'
import { RemoteService } from './core/remotes'
import { DistributionService } from './core/distributions'
import { PullThrough } from './pull-through/pull-through'
import { version } from './version'
import { OrphanService } from './core/orphans'
import { distributionCacheBytes, storageBytes } from './metrics/sources'
import { localFault } from './errors'
import { now } from './storage/rows'
import { allRemoteHealth, type RemoteHealth } from './storage/remote-health'
import type { Knex } from 'knex'

/** Commits one small write: what a read cannot tell (a full disk, a read-only file or role). */
async function probeWrite (knex: Knex): Promise<void> {
  await knex('pulp_status_probe').insert({ id: 1, probed: now() }).onConflict('id').merge(['probed'])
}

export interface Status {
  versions: { pulpMiddleware: string, node: string }
  /** `writable`: a write was committed just now (false on a full disk, a read-only database). */
  database: { dialect: string, reachable: boolean, writable: boolean, error?: string }
  runner: { state: string, instanceId: string, running?: number }
  /** Bytes: artifacts (recorded sizes), tmp (files being written), each distribution's pull-through cache. */
  disk?: { artifacts: number, tmp: number, distributions: Record<string, number> }
  /** Each remote's upstream health, by name, as `GET /remotes/:name` shows it. */
  remotes?: Record<string, RemoteHealth>
}

/** The services of one middleware instance; the REST API and the programmatic API both use these. */
export interface PulpServices {
  readonly ctx: PulpContext
  readonly repositories: RepositoryService
  /** Plugin types, distributors, publishing, tasks and consumers. */
  readonly publishing: Publishing
  readonly remotes: RemoteService
  readonly distributions: DistributionService
  /** The content path's pull-through cache: its handler, downloads and upstream connections. */
  readonly pullThrough: PullThrough
  /** Orphan cleanup, run as a task of this instance. */
  readonly orphans: OrphanService
  status: () => Promise<Status>
}

export function createServices (ctx: PulpContext, registry: PluginRegistry = createRegistry(ctx.options.plugins)): PulpServices {
  const repositories = new RepositoryService(ctx)
  const publishing = createPublishing(ctx, repositories, registry)
  const remotes = new RemoteService(ctx, publishing.registry)
  const pullThrough = new PullThrough(ctx, publishing.registry)
  const distributions = new DistributionService(ctx, async (name) => await pullThrough.quota.evict(name))
  const orphans = new OrphanService(ctx)

  async function status (): Promise<Status> {
    let reachable = false
    let writable = false
    let error: string | undefined
    try {
      await ctx.knex.raw('select 1')
      reachable = true
      await probeWrite(ctx.knex)
      writable = true
    } catch (err: unknown) {
      // The cause (a full disk is named so), never the connection string (it may hold a password).
      error = (localFault(err, ctx.options.dataDir)?.message ?? (err as Error).message).replace(/\w+:\/\/[^\s]*/g, '<url>')
    }
    // Left out when the database cannot answer: the rest of the status says why.
    const disk = reachable
      ? await Promise.all([storageBytes(ctx.knex, ctx.artifacts.tmpDir), distributionCacheBytes(ctx.knex)])
        .then(([bytes, distributions]) => ({ artifacts: bytes.artifacts, tmp: bytes.tmp, distributions }), () => undefined)
      : undefined
    const remotes = reachable ? await allRemoteHealth(ctx.knex).catch(() => undefined) : undefined
    return {
      ...(disk === undefined ? {} : { disk }),
      ...(remotes === undefined ? {} : { remotes }),
      versions: { pulpMiddleware: version, node: process.versions.node },
      database: { dialect: ctx.dialect, reachable, writable, ...(error === undefined ? {} : { error }) },
      runner: publishing.runner === null
        ? { state: 'disabled', instanceId: ctx.instanceId }
        : { state: publishing.runner.state, instanceId: ctx.instanceId, running: publishing.runner.runningCount }
    }
  }

  return { ctx, repositories, publishing, remotes, distributions, pullThrough, orphans, status }
}
