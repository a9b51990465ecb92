import { Readable } from 'node:stream'
import { createReadStream } from 'node:fs'
import createDebug from 'debug'
import { ConflictError, NotFoundError, ValidationError } from '../errors'
import { isUniqueViolation, type PageOf } from '../storage/rows'
import * as repos from '../storage/repositories'
import * as units from '../storage/units'
import type { Repository, RepositoryFields } from '../storage/repositories'
import type { RepositoryUnit } from '../storage/units'
import { commitAll, type PendingArtifact } from '../artifacts/store'
import type { PulpContext } from './context'
import { schemas } from '../schemas/lazy'
import type { CreateRepositoryInput, UpdateRepositoryInput } from '../schemas/repositories'
import { parseInput } from '../schemas/parse'
import { validateId, validatePage, validateRelativePath } from './validate'

const debug = createDebug('pulp:core:repositories')

export type { CreateRepositoryInput, UpdateRepositoryInput } from '../schemas/repositories'

export interface AddContentInput {
  /** The bytes: a stream, a buffer, or the path of a local file to copy in. */
  file: Readable | Buffer | string
  /** Where the unit sits in the repository; required for streams and buffers. */
  relativePath: string
}

/** A finished upload waiting to become a unit at `relativePath`. */
export interface PendingFile {
  pending: PendingArtifact
  relativePath: string
}

export interface ListContentQuery {
  limit?: unknown
  offset?: unknown
  /** Only the unit at this path (0 or 1 result). */
  relativePath?: unknown
}

/** The stored fields of a checked input: null notes are none. */
function fields ({ displayName, description, notes }: UpdateRepositoryInput): RepositoryFields {
  return { displayName, description, notes: notes === null ? {} : notes }
}

/** Repositories and their content: the same rules for the REST API and for code. */
export class RepositoryService {
  readonly #ctx: PulpContext

  constructor (ctx: PulpContext) {
    this.#ctx = ctx
  }

  async create (input: CreateRepositoryInput): Promise<Repository> {
    const { id, ...rest } = parseInput(schemas().repositories.CreateRepositoryInput, input, 'a repository')
    try {
      await repos.insertRepository(this.#ctx.knex, id, fields(rest))
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

  async update (id: string, input: UpdateRepositoryInput): Promise<Repository> {
    const body = parseInput(schemas().repositories.UpdateRepositoryInput, input, 'a repository update')
    if (!await repos.updateRepository(this.#ctx.knex, validateId(id), fields(body))) {
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
    const [unit] = await this.addContents(repositoryId, [input])
    return unit
  }

  /**
   * `addContent` for several files: each is streamed into the store in turn, then all the
   * units join the repository in one transaction. Any failure adds none of them.
   */
  async addContents (repositoryId: string, inputs: readonly AddContentInput[]): Promise<RepositoryUnit[]> {
    if (!Array.isArray(inputs)) throw new ValidationError('the files must be an array')
    const paths = inputs.map((input) => validateRelativePath(input?.relativePath))
    if (new Set(paths).size !== paths.length) throw new ValidationError('two files have the same relativePath')
    await this.get(repositoryId)
    await this.#ctx.artifacts.init()
    const files: PendingFile[] = []
    try {
      for (const [i, input] of inputs.entries()) {
        const source = typeof input.file === 'string'
          ? createReadStream(input.file)
          : Buffer.isBuffer(input.file) ? Readable.from([input.file]) : input.file
        if (!(source instanceof Readable)) throw new ValidationError('"file" must be a readable stream, a Buffer or a file path')
        const pending = this.#ctx.artifacts.begin(this.#ctx.options.maxUploadSize)
        files.push({ pending, relativePath: paths[i] })
        await pending.write(source)
      }
    } catch (err: unknown) {
      await Promise.all(files.map(async ({ pending }) => await pending.discard()))
      throw err
    }
    return await this.addPendingFiles(repositoryId, files)
  }

  /**
   * Commits finished uploads and records them as units of the repository, all or none. A unit
   * already at the same relative path is replaced. The temp files are always gone afterwards.
   */
  async addPendingFiles (repositoryId: string, files: readonly PendingFile[]): Promise<RepositoryUnit[]> {
    const discardAll = async (): Promise<void> => { await Promise.all(files.map(async ({ pending }) => await pending.discard())) }
    try {
      for (const file of files) validateRelativePath(file.relativePath)
      await this.get(repositoryId)
    } catch (err: unknown) {
      await discardAll()
      throw err
    }
    const stored: units.NewUnit[] = []
    let changed = false
    // One transaction for the request: on SQLite every commit is a sync to disk, and a
    // transaction per row made a 64-file request spend its time waiting for the disk
    // (bench/push.ts).
    const record = async (): Promise<units.Unit[]> => await this.#ctx.knex.transaction(async (trx) => {
      const ensured = await units.ensureUnits(trx, stored)
      changed = await units.associateUnits(trx, repositoryId, ensured)
      return ensured
    })
    // Every temp file is still there when the rows are written, so an orphan cleanup that
    // removed a stored file in between has it linked back (see commitAll).
    const commit = async (): Promise<units.Unit[]> => await commitAll(files.map((f) => f.pending), async (artifacts) => {
      for (const [i, artifact] of artifacts.entries()) stored.push({ typeId: 'file', relativePath: files[i].relativePath, sha256: artifact.sha256, size: artifact.size })
      return await record()
    })
    let newUnits: units.Unit[]
    try {
      newUnits = await commit()
    } finally {
      await discardAll()
    }
    if (changed) this.#ctx.events.emit('content-changed', repositoryId)
    debug('%s: %d file(s) added', repositoryId, newUnits.length)
    const added = new Map((await units.findRepositoryUnits(this.#ctx.knex, repositoryId, newUnits.map((u) => u.id))).map((u) => [u.id, u]))
    return newUnits.map((unit) => {
      const found = added.get(unit.id)
      if (found === undefined) throw new ConflictError(`repository "${repositoryId}" changed while the units were added; try again`)
      return found
    })
  }

  /** A page of the repository's units; `relativePath` narrows it to the unit at that path. */
  async listContent (repositoryId: string, query?: ListContentQuery): Promise<PageOf<RepositoryUnit>> {
    const validPage = validatePage(query)
    const relativePath = query?.relativePath === undefined ? undefined : validateRelativePath(query.relativePath)
    await this.get(repositoryId)
    return await units.listRepositoryUnits(this.#ctx.knex, repositoryId, validPage, relativePath)
  }

  async removeContent (repositoryId: string, unitId: string): Promise<void> {
    if (typeof unitId !== 'string' || unitId === '') throw new ValidationError('a unit id is required')
    await this.#remove(repositoryId, unitId, `unit "${unitId}" is not in repository "${repositoryId}"`)
  }

  /** Removes the unit at `relativePath` (404 when the repository has none there). */
  async removeContentByPath (repositoryId: string, relativePath: string): Promise<void> {
    const path = validateRelativePath(relativePath)
    await this.#remove(repositoryId, { relativePath: path }, `repository "${repositoryId}" has no unit at "${path}"`)
  }

  async #remove (repositoryId: string, which: string | { relativePath: string }, notFound: string): Promise<void> {
    await this.get(repositoryId)
    if (!await units.removeUnit(this.#ctx.knex, repositoryId, which)) throw new NotFoundError(notFound)
    this.#ctx.events.emit('content-changed', repositoryId)
  }
}
