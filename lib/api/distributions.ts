import { Router, type Request } from 'express'
import type { DistributionService } from '../core/distributions'
import type { AuthorizeFn } from '../options'
import { guard, jsonBody } from './guard'
import { schemas } from '../schemas/lazy'
import { bodyOf, pageToWire, toWire } from './wire'

function param (req: Request, name: string): string {
  return String(req.params[name])
}

/** `/distributions`: base paths under the content path, each with an optional remote and repository. */
export function distributionRoutes ({ distributions, authorize }: { distributions: DistributionService, authorize: AuthorizeFn }): Router {
  const router = Router()
  router.post('/distributions', guard(authorize, 'distributions.create'), jsonBody, async (req, res) => {
    res.status(201).json(toWire(await distributions.create(bodyOf(schemas().distributions.CreateDistributionInput, req.body, 'a distribution'))))
  })
  router.get('/distributions', guard(authorize, 'distributions.list'), async (req, res) => {
    res.json(pageToWire(await distributions.list(req.query)))
  })
  router.get('/distributions/:name', guard(authorize, 'distributions.read'), async (req, res) => {
    res.json(toWire(await distributions.get(param(req, 'name'))))
  })
  router.patch('/distributions/:name', guard(authorize, 'distributions.update'), jsonBody, async (req, res) => {
    res.json(toWire(await distributions.update(param(req, 'name'), bodyOf(schemas().distributions.UpdateDistributionInput, req.body ?? {}, 'a distribution update'))))
  })
  router.post('/distributions/:name/reclaim', guard(authorize, 'distributions.reclaim'), async (req, res) => {
    res.json(toWire(await distributions.reclaim(param(req, 'name'))))
  })
  router.delete('/distributions/:name', guard(authorize, 'distributions.delete'), async (req, res) => {
    await distributions.delete(param(req, 'name'))
    res.status(204).end()
  })
  return router
}
