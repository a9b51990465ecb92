import { Router, type Request } from 'express'
import multer from 'multer'
import type { RepositoryService } from '../core/repositories'
import type { AuthorizeFn } from '../options'
import { UnsupportedMediaTypeError, ValidationError } from '../errors'
import type { ArtifactStore } from '../artifacts/store'
import { guard, jsonBody } from './guard'
import { schemas } from '../schemas/lazy'
import { bodyOf, pageToWire, toWire } from './wire'
import { ArtifactUploadStorage, MAX_FILES_PER_UPLOAD, type UploadedFile } from './upload-storage'

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
    // One relative_path field per file, plus a few to spare.
    limits: {
      fileSize: maxUploadSize,
      files: MAX_FILES_PER_UPLOAD,
      fields: MAX_FILES_PER_UPLOAD + 10,
      fieldSize: 64 * 1024,
      parts: 2 * MAX_FILES_PER_UPLOAD + 20
    }
  }).array('file', MAX_FILES_PER_UPLOAD)

  router.post('/repositories', guard(authorize, 'repositories.create'), jsonBody, async (req, res) => {
    const repo = await repositories.create(bodyOf(schemas().repositories.CreateRepositoryInput, req.body, 'a repository'))
    res.status(201).json(toWire(repo))
  })
  router.get('/repositories', guard(authorize, 'repositories.list'), async (req, res) => {
    res.json(pageToWire(await repositories.list(req.query)))
  })
  router.get('/repositories/:id', guard(authorize, 'repositories.read'), async (req, res) => {
    res.json(toWire(await repositories.get(param(req, 'id'))))
  })
  router.patch('/repositories/:id', guard(authorize, 'repositories.update'), jsonBody, async (req, res) => {
    res.json(toWire(await repositories.update(param(req, 'id'), bodyOf(schemas().repositories.UpdateRepositoryInput, req.body ?? {}, 'a repository update'))))
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
    const files = (req.files ?? []) as UploadedFile[]
    if (files.length === 0) throw new ValidationError('the multipart body has no "file" field')
    const units = await repositories.addPendingFiles(param(req, 'id'), files)
    res.status(201).json({ units: units.map(toWire) })
  })
  router.get('/repositories/:id/content', guard(authorize, 'content.list'), async (req, res) => {
    const { relative_path: relativePath, ...page } = req.query
    res.json(pageToWire(await repositories.listContent(param(req, 'id'), { ...page, relativePath })))
  })
  router.delete('/repositories/:id/content', guard(authorize, 'content.remove'), async (req, res) => {
    const relativePath = req.query.relative_path
    if (typeof relativePath !== 'string') throw new ValidationError('give the unit to remove as ?relative_path=')
    await repositories.removeContentByPath(param(req, 'id'), relativePath)
    res.status(204).end()
  })
  router.delete('/repositories/:id/content/:unitId', guard(authorize, 'content.remove'), async (req, res) => {
    await repositories.removeContent(param(req, 'id'), param(req, 'unitId'))
    res.status(204).end()
  })
  return router
}
