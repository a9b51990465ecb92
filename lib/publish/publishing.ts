import { ConsumerService } from '../core/consumers'
import type { PulpContext } from '../core/context'
import { DistributorService } from '../core/distributors'
import { PublishService } from '../core/publish'
import type { RepositoryService } from '../core/repositories'
import { TaskService } from '../core/tasks'
import type { PluginRegistry } from '../plugins/registry'
import { AutoPublisher } from './auto-publish'
import { createConfigConduit, type ConduitDeps } from './conduit'
import { PublishRunner } from './runner'
import { PublicationTree } from './tree'

/** The publishing side of one instance: plugin types, distributors, tasks, the runner. */
export interface Publishing {
  readonly registry: PluginRegistry
  readonly tree: PublicationTree
  readonly distributors: DistributorService
  readonly tasks: TaskService
  readonly publisher: PublishService
  readonly consumers: ConsumerService
  /** Null when the `runner` option is false: this instance runs no tasks. */
  readonly runner: PublishRunner | null
  /** Starts auto-publish, sweeps old publications, starts the runner (recovering interrupted tasks). */
  start: () => Promise<void>
  close: () => Promise<void>
}

/** The publishing services on top of a registry (see `createRegistry`). */
export function createPublishing (ctx: PulpContext, repositories: RepositoryService, registry: PluginRegistry): Publishing {
  const tree = new PublicationTree(ctx.options.dataDir, ctx.options.publicationGracePeriod)
  const tasks = new TaskService(ctx)
  const conduitDeps: ConduitDeps = {
    knex: ctx.knex,
    artifacts: ctx.artifacts,
    tree,
    relativeUrlClaims: async (url, exclude) => await distributors.relativeUrlClaims(url, exclude)
  }
  const distributors: DistributorService = new DistributorService(ctx, {
    registry,
    repositories,
    tasks,
    configConduit: (owner, { db, relativeUrlClaims }) => createConfigConduit({ ...conduitDeps, knex: db, relativeUrlClaims }, owner)
  })
  const publisher = new PublishService(ctx, distributors)
  const consumers = new ConsumerService(ctx, { repositories, distributors })
  const runner = ctx.options.runner === false ? null : new PublishRunner({ ctx, distributors, tree, conduitDeps }, ctx.options.runner)
  const auto = new AutoPublisher(ctx, async (repoId, distributorId) => await publisher.publish(repoId, distributorId))

  return {
    registry,
    tree,
    distributors,
    tasks,
    publisher,
    consumers,
    runner,
    async start () {
      auto.start()
      await tree.startSweeping()
      await runner?.start()
    },
    async close () {
      auto.close()
      await runner?.close()
      tree.close()
    }
  }
}
