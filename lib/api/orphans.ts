import { Router } from 'express'
import type { OrphanService } from '../core/orphans'
import { ValidationError } from '../errors'
import type { AuthorizeFn } from '../options'
import { guard, jsonBody } from './guard'
import { taskToWire } from './tasks'

/** `POST /orphans/cleanup {orphan_protection_time?}` -> 202 and the task. */
export function orphanRoutes ({ orphans, authorize }: { orphans: OrphanService, authorize: AuthorizeFn }): Router {
  const router = Router()
  router.post('/orphans/cleanup', guard(authorize, 'orphans.cleanup'), jsonBody, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('the body must be a JSON object')
    for (const key of Object.keys(body)) if (key !== 'orphan_protection_time') throw new ValidationError(`unknown field "${key}"`)
    const minutes = body.orphan_protection_time
    if (minutes !== undefined && typeof minutes !== 'number') throw new ValidationError('"orphan_protection_time" must be a whole number of minutes >= 0')
    res.status(202).json(taskToWire(await orphans.cleanup({ orphanProtectionTime: minutes })))
  })
  return router
}
