import { Router, type Request, type Response } from 'express'
import type { PulpServices } from '../services'
import { NotFoundError } from '../errors'
import { apiErrorHandler } from './error-handler'
import { guard } from './guard'
import { repositoryRoutes } from './repositories'
import { version } from '../version'
import { toWire } from './wire'

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
      runner: toWire(s.runner)
    })
  })
  router.use(repositoryRoutes({
    repositories: services.repositories,
    artifacts: ctx.artifacts,
    authorize,
    maxUploadSize: ctx.options.maxUploadSize
  }))

  router.use((req: Request) => {
    throw new NotFoundError(`no API route for ${req.method} ${req.path} (pulp-middleware ${version})`)
  })
  router.use(apiErrorHandler)
  return router
}
