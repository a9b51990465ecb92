import type { PulpContext } from './core/context'
import { RepositoryService } from './core/repositories'
import { version } from './version'

export interface Status {
  versions: { pulpMiddleware: string, node: string }
  database: { dialect: string, reachable: boolean, error?: string }
  runner: { state: string, instanceId: string }
}

/** The services of one middleware instance; the REST API and the programmatic API both use these. */
export interface PulpServices {
  readonly ctx: PulpContext
  readonly repositories: RepositoryService
  status: () => Promise<Status>
}

export function createServices (ctx: PulpContext): PulpServices {
  const repositories = new RepositoryService(ctx)

  async function status (): Promise<Status> {
    let reachable = true
    let error: string | undefined
    try {
      await ctx.knex.raw('select 1')
    } catch (err: unknown) {
      reachable = false
      // The driver's message, never the connection string (it may hold a password).
      error = (err as Error).message.replace(/\w+:\/\/[^\s]*/g, '<url>')
    }
    return {
      versions: { pulpMiddleware: version, node: process.versions.node },
      database: { dialect: ctx.dialect, reachable, ...(error === undefined ? {} : { error }) },
      runner: { state: ctx.options.runner === false ? 'disabled' : 'running', instanceId: ctx.instanceId }
    }
  }

  return { ctx, repositories, status }
}
