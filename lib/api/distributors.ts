import { Router, type Request } from 'express'
import type { DistributorService } from '../core/distributors'
import type { PublishService } from '../core/publish'
import type { TaskService } from '../core/tasks'
import { TaskTimeoutError } from '../errors'
import type { AuthorizeFn } from '../options'
import type { RepoDistributor } from '../storage/distributors'
import { guard, jsonBody } from './guard'
import { taskToWire } from './tasks'
import { schemas } from '../schemas/lazy'
import { checkField } from '../schemas/parse'
import { bodyOf, pageToWire, toWire } from './wire'

export interface DistributorRoutesDeps {
  distributors: DistributorService
  publisher: PublishService
  tasks: TaskService
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
export function distributorRoutes ({ distributors, publisher, tasks, authorize }: DistributorRoutesDeps): Router {
  const router = Router()

  router.post('/repositories/:id/distributors', guard(authorize, 'distributors.create'), jsonBody, async (req, res) => {
    const added = await distributors.add(param(req, 'id'), bodyOf(schemas().distributors.AddDistributorInput, req.body, 'a distributor'))
    res.status(201).json(distributorToWire(added))
  })
  router.get('/repositories/:id/distributors', guard(authorize, 'distributors.list'), async (req, res) => {
    res.json(pageToWire(await distributors.list(param(req, 'id'), req.query)))
  })
  router.get('/repositories/:id/distributors/:did', guard(authorize, 'distributors.read'), async (req, res) => {
    res.json(distributorToWire(await distributors.get(param(req, 'id'), param(req, 'did'))))
  })
  router.put('/repositories/:id/distributors/:did', guard(authorize, 'distributors.update'), jsonBody, async (req, res) => {
    const updated = await distributors.update(param(req, 'id'), param(req, 'did'), bodyOf(schemas().distributors.UpdateDistributorInput, req.body ?? {}, 'a distributor update'))
    res.json(distributorToWire(updated))
  })
  router.delete('/repositories/:id/distributors/:did', guard(authorize, 'distributors.delete'), async (req, res) => {
    await distributors.remove(param(req, 'id'), param(req, 'did'))
    res.status(204).end()
  })

  router.post('/repositories/:id/actions/publish', guard(authorize, 'repositories.publish'), jsonBody, async (req, res) => {
    const body = bodyOf(schemas().distributors.PublishRequest, req.body ?? {}, 'a publish request')
    const wait = req.query.wait === undefined ? undefined : Number(checkField(schemas().distributors.PublishWait, req.query.wait, 'wait'))
    const task = await publisher.publish(param(req, 'id'), body.id, { overrideConfig: body.overrideConfig })
    if (wait === undefined) {
      res.status(202).json(taskToWire(task))
      return
    }
    // Not in Pulp: `?wait=` makes publishing one step for a shell (the quick start). The task
    // that ended in time answers 200, whatever its state; one still going answers 202.
    const gone = new AbortController()
    res.once('close', () => gone.abort())
    try {
      res.status(200).json(taskToWire(await tasks.wait(task.taskId, { timeout: wait, signal: gone.signal })))
    } catch (err: unknown) {
      if (gone.signal.aborted) return
      if (!(err instanceof TaskTimeoutError)) throw err
      res.status(202).json(taskToWire(await tasks.get(task.taskId)))
    }
  })
  router.get('/repositories/:id/history/publish/:did', guard(authorize, 'distributors.history'), async (req, res) => {
    res.json(pageToWire(await distributors.history(param(req, 'id'), param(req, 'did'), req.query)))
  })
  return router
}
