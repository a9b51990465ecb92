import { Router } from 'express'
import type { OrphanService } from '../core/orphans'
import { schemas } from '../schemas/lazy'
import type { AuthorizeFn } from '../options'
import { guard, jsonBody } from './guard'
import { taskToWire } from './tasks'
import { bodyOf } from './wire'

/** `POST /orphans/cleanup {orphan_protection_time?}` -> 202 and the task. */
export function orphanRoutes ({ orphans, authorize }: { orphans: OrphanService, authorize: AuthorizeFn }): Router {
  const router = Router()
  router.post('/orphans/cleanup', guard(authorize, 'orphans.cleanup'), jsonBody, async (req, res) => {
    const body = bodyOf(schemas().tasks.OrphanCleanupInput, req.body ?? {}, 'an orphan cleanup')
    res.status(202).json(taskToWire(await orphans.cleanup(body)))
  })
  return router
}
