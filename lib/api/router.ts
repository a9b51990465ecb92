import { Router, type Request, type Response } from 'express'
import type { PulpServices } from '../services'
import { NotFoundError } from '../errors'
import { apiErrorHandler } from './error-handler'
import { guard } from './guard'
import { repositoryRoutes } from './repositories'
import { distributorRoutes } from './distributors'
import { taskRoutes } from './tasks'
import { consumerRoutes } from './consumers'
import type * as OpenApi from './openapi'
import { remoteRoutes } from './remotes'
import { distributionRoutes } from './distributions'
import { version } from '../version'
import { toWire } from './wire'
import { orphanRoutes } from './orphans'

/** The document's module, loaded on its first request: it builds zod schemas at load (../schemas/lazy.ts says what they cost). */
function openApi (): typeof OpenApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use
  return require('./openapi') as typeof OpenApi
}

/** The REST API: one router per resource, one error shape, `authorize` before every route. */
export function createApiRouter (services: PulpServices): Router {
  const { ctx } = services
  const authorize = ctx.options.authorize
  const router = Router()

  router.get('/status', guard(authorize, 'status.read'), async (_req: Request, res: Response) => {
    const s = await services.status()
    res.json({
      versions: toWire(s.versions),
      database: s.database,
      runner: toWire(s.runner),
      // Distribution names are data, not fields: only the outer keys change case.
      ...(s.disk === undefined ? {} : { disk: s.disk }),
      // Remote names too are data: their health's fields change case.
      ...(s.remotes === undefined ? {} : { remotes: Object.fromEntries(Object.entries(s.remotes).map(([name, h]) => [name, toWire(h)])) })
    })
  })
  router.use(repositoryRoutes({
    repositories: services.repositories,
    artifacts: ctx.artifacts,
    authorize,
    maxUploadSize: ctx.options.maxUploadSize
  }))
  const { distributors, publisher, tasks, consumers } = services.publishing
  router.use(distributorRoutes({ distributors, publisher, tasks, authorize }))
  router.use(taskRoutes({ tasks, authorize }))
  router.use(consumerRoutes({ consumers, authorize }))
  router.use(remoteRoutes({ remotes: services.remotes, authorize }))
  router.use(distributionRoutes({ distributions: services.distributions, authorize }))
  router.use(orphanRoutes({ orphans: services.orphans, authorize }))
  if (ctx.metrics !== undefined) {
    const { registry } = ctx.metrics
    router.get('/metrics', guard(authorize, 'metrics.read'), async (_req: Request, res: Response) => {
      const text = await registry.metrics()
      res.type(registry.contentType).send(text)
    })
  }
  router.get('/openapi.json', guard(authorize, 'openapi.read'), (req: Request, res: Response) => {
    res.json(openApi().openApiDocument(version, req.baseUrl))
  })

  router.use((req: Request) => {
    throw new NotFoundError(`no API route for ${req.method} ${req.path} (pulp-middleware ${version})`)
  })
  router.use(apiErrorHandler(ctx.log.part('pulp:api'), ctx.options.dataDir))
  return router
}
