import { Router, type Request } from 'express'
import type { RemoteRecord, RemoteService } from '../core/remotes'
import type { AuthorizeFn } from '../options'
import { guard, jsonBody } from './guard'
import { schemas } from '../schemas/lazy'
import { bodyOf, pageToWire, toWire } from './wire'

/** A remote on the wire; its health is ours, not user data, so its keys are converted too. */
function remoteToWire ({ health, ...remote }: RemoteRecord): Record<string, unknown> {
  return { ...toWire(remote), ...(health === undefined ? {} : { health: toWire(health) }) }
}

function param (req: Request, name: string): string {
  return String(req.params[name])
}

/** `/remotes`: where distributions pull from. Header values read back as `"***"`. */
export function remoteRoutes ({ remotes, authorize }: { remotes: RemoteService, authorize: AuthorizeFn }): Router {
  const router = Router()
  router.post('/remotes', guard(authorize, 'remotes.create'), jsonBody, async (req, res) => {
    res.status(201).json(remoteToWire(await remotes.create(bodyOf(schemas().remotes.CreateRemoteInput, req.body, 'a remote'))))
  })
  router.get('/remotes', guard(authorize, 'remotes.list'), async (req, res) => {
    res.json(pageToWire(await remotes.list(req.query)))
  })
  router.get('/remotes/:name', guard(authorize, 'remotes.read'), async (req, res) => {
    res.json(remoteToWire(await remotes.get(param(req, 'name'))))
  })
  router.patch('/remotes/:name', guard(authorize, 'remotes.update'), jsonBody, async (req, res) => {
    res.json(remoteToWire(await remotes.update(param(req, 'name'), bodyOf(schemas().remotes.UpdateRemoteInput, req.body ?? {}, 'a remote update'))))
  })
  router.delete('/remotes/:name', guard(authorize, 'remotes.delete'), async (req, res) => {
    await remotes.delete(param(req, 'name'))
    res.status(204).end()
  })
  return router
}
