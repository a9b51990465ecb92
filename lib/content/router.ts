import { Router, type Request, type Response } from 'express'
import type { PulpServices } from '../services'
import { createStaticTree } from './static-tree'

/** Content under `contentPath`: the static tree first, then distributions' pull-through, then 404. */
export function createContentRouter (services: PulpServices): Router {
  const { options } = services.ctx
  const router = Router()
  router.use(createStaticTree({ dataDir: options.dataDir, indexes: options.indexes, cacheControl: options.cacheControl }))
  router.use(services.pullThrough.handler)
  router.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'ERR_PULP_NOT_FOUND', message: `nothing is published at ${req.path}` } })
  })
  return router
}
