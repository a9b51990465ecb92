import { Readable } from 'node:stream'
import { createReadStream } from 'node:fs'
import createDebug from 'debug'
import { ConflictError, NotFoundError, ValidationError } from '../errors'
import { isUniqueViolation, type PageOf } from '../storage/rows'
import * as repos from '../storage/repositories'
import * as units from '../storage/units'
import type { Repository, RepositoryFields } from '../storage/repositories'
import type { RepositoryUnit } from '../storage/units'
import type { PendingArtifact } from '../artifacts/store'
import type { PulpContext } from './context'
import { onlyFields, optionalObject, optionalString, requireObject, validateId, validatePage, validateRelativePath } from './validate'

const debug = createDebug('pulp:core:repositories')

export interface CreateRepositoryInput extends RepositoryFields { id: string }

export interface AddContentInput {
  /** The bytes: a stream, a buffer, or the path of a local file to copy in. */
  file: Readable | Buffer | string
  /** Where the unit sits in the repository; required for streams and buffers. */
  relativePath: string
}

const FIELDS = ['displayName', 'description', 'notes'] as const

function validateFields (input: Record<string, unknown>): RepositoryFields {
  const notes = optionalObject(input.notes, 'notes')
  return {
    displayName: optionalString(input.displayName, 'display_name', 255),
    description: optionalString(input.description, 'description'),
    notes: notes === null ? {} : notes
  }
}

/** Repositories and their content: the same rules for the REST API and for code. */
export class RepositoryService {
  readonly #ctx: PulpContext

  constructor (ctx: PulpContext) {
    this.#ctx = ctx
  }

  async create (input: CreateRepositoryInput): Promise<Repository> {
    const body = requireObject(input, 'a repository')
    onlyFields(body, ['id', ...FIELDS], 'a repository')
    const id = validateId(body.id)
    try {
      await repos.insertRepository(this.#ctx.knex, id, validateFields(body))
    } catch (err: unknown) {
      if (isUniqueViolation(err)) throw new ConflictError(`repository "${id}" already exists`)
      throw err
    }
    debug('created %s', id)
    return await this.get(id)
  }

  async list (page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<Repository>> {
    return await repos.listRepositories(this.#ctx.knex, validatePage(page))
  }

  async get (id: string): Promise<Repository> {
    const repo = await repos.findRepository(this.#ctx.knex, validateId(id))
    if (repo === undefined) throw new NotFoundError(`repository "${id}" does not exist`)
    return repo
  }

  async update (id: string, fields: RepositoryFields): Promise<Repository> {
    const body = requireObject(fields, 'a repository update')
    onlyFields(body, FIELDS, 'a repository update')
    if (!await repos.updateRepository(this.#ctx.knex, validateId(id), validateFields(body))) {
      throw new NotFoundError(`repository "${id}" does not exist`)
    }
    return await this.get(id)
  }

  async delete (id: string): Promise<void> {
    await this.get(id)
    for (const hook of this.#ctx.beforeRepositoryDelete) await hook(id)
    if (!await repos.deleteRepository(this.#ctx.knex, id)) throw new NotFoundError(`repository "${id}" does not exist`)
    debug('deleted %s', id)
  }

  /** Streams a file into the artifact store and adds it to the repository as a `file` unit. */
  async addContent (repositoryId: string, input: AddContentInput): Promise<RepositoryUnit> {
    const relativePath = validateRelativePath(input.relativePath)
    await this.get(repositoryId)
    const source = typeof input.file === 'string'
      ? createReadStream(input.file)
      : Buffer.isBuffer(input.file) ? Readable.from([input.file]) : input.file
    if (!(source instanceof Readable)) throw new ValidationError('"file" must be a readable stream, a Buffer or a file path')
    await this.#ctx.artifacts.init()
    const pending = this.#ctx.artifacts.begin(this.#ctx.options.maxUploadSize)
    await pending.write(source)
    return await this.addPendingFile(repositoryId, pending, relativePath)
  }

  /**
   * Commits a finished upload and records it as a unit of the repository. A unit already at the
   * same relative path is replaced. The temp file is always gone afterwards.
   */
  async addPendingFile (repositoryId: string, pending: PendingArtifact, relativePath: string): Promise<RepositoryUnit> {
    try {
      validateRelativePath(relativePath)
      await this.get(repositoryId)
    } catch (err: unknown) {
      await pending.discard()
      throw err
    }
    // One transaction from the artifact row to the repository's: an orphan cleanup sees all or nothing.
    const { artifact, unit, changed } = await pending.commitWith(async (artifact) => await this.#ctx.knex.transaction(async (trx) => {
      const unit = await units.ensureUnit(trx, { typeId: 'file', relativePath, sha256: artifact.sha256, size: artifact.size })
      return { artifact, unit, changed: await units.associateUnit(trx, repositoryId, unit) }
    }))
    if (changed) this.#ctx.events.emit('content-changed', repositoryId)
    debug('%s: %s -> %s (%d bytes)', repositoryId, relativePath, artifact.sha256, artifact.size)
    const added = await units.findRepositoryUnit(this.#ctx.knex, repositoryId, unit.id)
    if (added === undefined) throw new ConflictError(`repository "${repositoryId}" changed while the unit was added; try again`)
    return added
  }

  async listContent (repositoryId: string, page?: { limit?: unknown, offset?: unknown }): Promise<PageOf<RepositoryUnit>> {
    const validPage = validatePage(page)
    await this.get(repositoryId)
    return await units.listRepositoryUnits(this.#ctx.knex, repositoryId, validPage)
  }

  async removeContent (repositoryId: string, unitId: string): Promise<void> {
    await this.get(repositoryId)
    if (typeof unitId !== 'string' || unitId === '') throw new ValidationError('a unit id is required')
    if (!await units.removeUnit(this.#ctx.knex, repositoryId, unitId)) {
      throw new NotFoundError(`unit "${unitId}" is not in repository "${repositoryId}"`)
    }
    this.#ctx.events.emit('content-changed', repositoryId)
  }
}
