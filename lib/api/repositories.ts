import { Router, type Request } from 'express'
import multer from 'multer'
import type { RepositoryService } from '../core/repositories'
import type { AuthorizeFn } from '../options'
import { UnsupportedMediaTypeError, ValidationError } from '../errors'
import type { ArtifactStore } from '../artifacts/store'
import { guard, jsonBody } from './guard'
import { fromWire, pageToWire, toWire } from './wire'
import { ArtifactUploadStorage, type UploadedFile } from './upload-storage'

export interface RepositoryRoutesDeps {
  repositories: RepositoryService
  artifacts: ArtifactStore
  authorize: AuthorizeFn
  maxUploadSize: number
}

function param (req: Request, name: string): string {
  return String(req.params[name])
}

/** `/repositories`: CRUD, uploads and unit listing. */
export function repositoryRoutes ({ repositories, artifacts, authorize, maxUploadSize }: RepositoryRoutesDeps): Router {
  const router = Router()
  const upload = multer({
    storage: new ArtifactUploadStorage(artifacts, maxUploadSize),
    // File names are UTF-8 in practice (curl, browsers); busboy's default would garble them.
    defParamCharset: 'utf8',
    limits: { fileSize: maxUploadSize, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 20 }
  }).single('file')

  router.post('/repositories', guard(authorize, 'repositories.create'), jsonBody, async (req, res) => {
    const repo = await repositories.create(fromWire(req.body) as never)
    res.status(201).json(toWire(repo))
  })
  router.get('/repositories', guard(authorize, 'repositories.list'), async (req, res) => {
    res.json(pageToWire(await repositories.list(req.query)))
  })
  router.get('/repositories/:id', guard(authorize, 'repositories.read'), async (req, res) => {
    res.json(toWire(await repositories.get(param(req, 'id'))))
  })
  router.patch('/repositories/:id', guard(authorize, 'repositories.update'), jsonBody, async (req, res) => {
    res.json(toWire(await repositories.update(param(req, 'id'), fromWire(req.body ?? {}))))
  })
  router.delete('/repositories/:id', guard(authorize, 'repositories.delete'), async (req, res) => {
    await repositories.delete(param(req, 'id'))
    res.status(204).end()
  })

  router.post('/repositories/:id/content', guard(authorize, 'content.upload'), async (req, res, next) => {
    if (!req.is('multipart/form-data')) {
      throw new UnsupportedMediaTypeError('upload the file as multipart/form-data with a "file" field (and optionally "relative_path")')
    }
    // Fail fast on a missing repository before any bytes are written.
    await repositories.get(param(req, 'id'))
    next()
  }, upload, async (req, res) => {
    const file = req.file as UploadedFile | undefined
    if (file === undefined) throw new ValidationError('the multipart body has no "file" field')
    const given = (req.body as Record<string, unknown> | undefined)?.relative_path
    const relativePath = typeof given === 'string' && given !== '' ? given : file.originalname
    const unit = await repositories.addPendingFile(param(req, 'id'), file.pending, relativePath)
    res.status(201).json({ units: [toWire(unit)] })
  })
  router.get('/repositories/:id/content', guard(authorize, 'content.list'), async (req, res) => {
    res.json(pageToWire(await repositories.listContent(param(req, 'id'), req.query)))
  })
  router.delete('/repositories/:id/content/:unitId', guard(authorize, 'content.remove'), async (req, res) => {
    await repositories.removeContent(param(req, 'id'), param(req, 'unitId'))
    res.status(204).end()
  })
  return router
}
