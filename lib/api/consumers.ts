import { Router, type Request } from 'express'
import type { ConsumerService } from '../core/consumers'
import type { AuthorizeFn } from '../options'
import { guard, jsonBody } from './guard'
import { schemas } from '../schemas/lazy'
import { bodyOf, pageToWire, toWire } from './wire'

function param (req: Request, name: string): string {
  return String(req.params[name])
}

/** `/consumers` and their bindings. */
export function consumerRoutes ({ consumers, authorize }: { consumers: ConsumerService, authorize: AuthorizeFn }): Router {
  const router = Router()
  router.post('/consumers', guard(authorize, 'consumers.create'), jsonBody, async (req, res) => {
    res.status(201).json(toWire(await consumers.create(bodyOf(schemas().consumers.CreateConsumerInput, req.body, 'a consumer'))))
  })
  router.get('/consumers', guard(authorize, 'consumers.list'), async (req, res) => {
    res.json(pageToWire(await consumers.list(req.query)))
  })
  router.get('/consumers/:id', guard(authorize, 'consumers.read'), async (req, res) => {
    res.json(toWire(await consumers.get(param(req, 'id'))))
  })
  router.delete('/consumers/:id', guard(authorize, 'consumers.delete'), async (req, res) => {
    await consumers.delete(param(req, 'id'))
    res.status(204).end()
  })
  router.post('/consumers/:id/bindings', guard(authorize, 'consumers.bind'), jsonBody, async (req, res) => {
    res.status(201).json(toWire(await consumers.bind(param(req, 'id'), bodyOf(schemas().consumers.BindInput, req.body, 'a binding'))))
  })
  router.get('/consumers/:id/bindings', guard(authorize, 'consumers.bindings'), async (req, res) => {
    res.json(pageToWire(await consumers.bindings(param(req, 'id'), req.query)))
  })
  router.delete('/consumers/:id/bindings/:repoId/:distributorId', guard(authorize, 'consumers.unbind'), async (req, res) => {
    await consumers.unbind(param(req, 'id'), param(req, 'repoId'), param(req, 'distributorId'))
    res.status(204).end()
  })
  return router
}
