import { Router, type Request } from 'express'
import type { TaskService } from '../core/tasks'
import type { AuthorizeFn } from '../options'
import type { Task } from '../storage/tasks'
import { guard } from './guard'
import { toWire } from './wire'

function param (req: Request, name: string): string {
  return String(req.params[name])
}

/** A task on the wire: `task_id`, `state`, `progress_report`, `result`, `error`, ... */
export function taskToWire (task: Task): Record<string, unknown> {
  return toWire(task)
}

/** `/tasks`: list, read, cancel. */
export function taskRoutes ({ tasks, authorize }: { tasks: TaskService, authorize: AuthorizeFn }): Router {
  const router = Router()
  router.get('/tasks', guard(authorize, 'tasks.list'), async (req, res) => {
    const q = req.query
    const page = await tasks.list({ state: q.state, repoId: q.repo_id, distributorId: q.distributor_id, limit: q.limit, offset: q.offset })
    res.json({ count: page.count, results: page.results.map(taskToWire) })
  })
  router.get('/tasks/:taskId', guard(authorize, 'tasks.read'), async (req, res) => {
    res.json(taskToWire(await tasks.get(param(req, 'taskId'))))
  })
  router.delete('/tasks/:taskId', guard(authorize, 'tasks.cancel'), async (req, res) => {
    res.status(202).json(taskToWire(await tasks.cancel(param(req, 'taskId'))))
  })
  return router
}
