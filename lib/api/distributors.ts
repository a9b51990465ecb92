import { Router, type Request } from 'express'
import type { DistributorService } from '../core/distributors'
import type { PublishService } from '../core/publish'
import { onlyFields, requireObject, validateId } from '../core/validate'
import type { AuthorizeFn } from '../options'
import type { RepoDistributor } from '../storage/distributors'
import { guard, jsonBody } from './guard'
import { taskToWire } from './tasks'
import { fromWire, pageToWire, toWire } from './wire'

export interface DistributorRoutesDeps {
  distributors: DistributorService
  publisher: PublishService
  authorize: AuthorizeFn
}

function param (req: Request, name: string): string {
  return String(req.params[name])
}

/** On the wire the stored config is `config`, as Pulp 2 shows it. */
export function distributorToWire (d: RepoDistributor): Record<string, unknown> {
  return toWire(d)
}

/** `/repositories/:id/distributors`, `/repositories/:id/actions/publish` and the publish history. */
export function distributorRoutes ({ distributors, publisher, authorize }: DistributorRoutesDeps): Router {
  const router = Router()

  router.post('/repositories/:id/distributors', guard(authorize, 'distributors.create'), jsonBody, async (req, res) => {
    const added = await distributors.add(param(req, 'id'), fromWire(req.body) as never)
    res.status(201).json(distributorToWire(added))
  })
  router.get('/repositories/:id/distributors', guard(authorize, 'distributors.list'), async (req, res) => {
    res.json(pageToWire(await distributors.list(param(req, 'id'), req.query)))
  })
  router.get('/repositories/:id/distributors/:did', guard(authorize, 'distributors.read'), async (req, res) => {
    res.json(distributorToWire(await distributors.get(param(req, 'id'), param(req, 'did'))))
  })
  router.put('/repositories/:id/distributors/:did', guard(authorize, 'distributors.update'), jsonBody, async (req, res) => {
    const updated = await distributors.update(param(req, 'id'), param(req, 'did'), fromWire(req.body ?? {}) as never)
    res.json(distributorToWire(updated))
  })
  router.delete('/repositories/:id/distributors/:did', guard(authorize, 'distributors.delete'), async (req, res) => {
    await distributors.remove(param(req, 'id'), param(req, 'did'))
    res.status(204).end()
  })

  router.post('/repositories/:id/actions/publish', guard(authorize, 'repositories.publish'), jsonBody, async (req, res) => {
    const body = requireObject(req.body ?? {}, 'a publish request')
    onlyFields(body, ['id', 'override_config'], 'a publish request')
    const task = await publisher.publish(param(req, 'id'), validateId(body.id, 'id'), { overrideConfig: body.override_config as never })
    res.status(202).json(taskToWire(task))
  })
  router.get('/repositories/:id/history/publish/:did', guard(authorize, 'distributors.history'), async (req, res) => {
    res.json(pageToWire(await distributors.history(param(req, 'id'), param(req, 'did'), req.query)))
  })
  return router
}
