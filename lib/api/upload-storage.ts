import { setMaxListeners } from 'node:events'
import type { Request } from 'express'
import type { StorageEngine } from 'multer'
import type { ArtifactStore, PendingArtifact } from '../artifacts/store'
import { ValidationError } from '../errors'
import { validateRelativePath } from '../core/validate'
import { MAX_FILES_PER_UPLOAD } from '../schemas/limits'

export { MAX_FILES_PER_UPLOAD } from '../schemas/limits'

/** What our engine leaves on each of `req.files`: the temp file, hashed while it streamed. */
export interface UploadedFile extends Express.Multer.File {
  pending: PendingArtifact
  /** The part's `relative_path` field, else its file name; already validated. */
  relativePath: string
}

type Callback = (error?: unknown, info?: Partial<UploadedFile>) => void

/** Per request: how many `relative_path` fields earlier parts used, the paths seen, and its abort. */
interface PartState {
  fieldsUsed: number
  parts: number
  paths: Set<string>
  aborted: AbortSignal
}

/**
 * How many `relative_path` fields the request has sent so far, and the last of them. Only the
 * last is converted: mapping them all for every part made a request's parts cost the square of
 * their number.
 */
function relativePathFields (req: Request): { count: number, last: string } {
  const value = (req.body as Record<string, unknown> | undefined)?.relative_path
  if (value === undefined) return { count: 0, last: '' }
  if (!Array.isArray(value)) return { count: 1, last: String(value) }
  return { count: value.length, last: value.length === 0 ? '' : String(value[value.length - 1]) }
}

/**
 * A multer storage engine that streams each file into `tmp/` while hashing it, so an upload
 * of any size never sits in memory. A client that disconnects mid-upload leaves nothing.
 *
 * Each `file` part takes the `relative_path` field sent since the part before it (busboy hands
 * us fields and files in body order), else its file name; a bad or repeated path fails the
 * request before the part's bytes are written.
 */
export class ArtifactUploadStorage implements StorageEngine {
  readonly #store: ArtifactStore
  readonly #limit: number
  readonly #parts = new WeakMap<Request, PartState>()

  constructor (store: ArtifactStore, limit: number) {
    this.#store = store
    this.#limit = limit
  }

  #state (req: Request): PartState {
    let state = this.#parts.get(req)
    if (state === undefined) {
      const aborted = new AbortController()
      // Each part's write listens until its file is on disk; small parts overlap by the dozen.
      setMaxListeners(MAX_FILES_PER_UPLOAD, aborted.signal)
      // Busboy never ends the file stream of a request that was cut off: stop it ourselves.
      // One listener per request, however many parts it has.
      req.once('close', () => { if (!req.complete) aborted.abort() })
      this.#parts.set(req, state = { fieldsUsed: 0, parts: 0, paths: new Set(), aborted: aborted.signal })
    }
    return state
  }

  #relativePath (req: Request, file: Express.Multer.File): string {
    const state = this.#state(req)
    const fields = relativePathFields(req)
    const given = fields.count > state.fieldsUsed ? fields.last : ''
    state.fieldsUsed = fields.count
    state.parts++
    const relativePath = given !== '' ? given : file.originalname
    const name = `file part ${state.parts} (${JSON.stringify(relativePath)})`
    try {
      validateRelativePath(relativePath)
    } catch (err: unknown) {
      throw new ValidationError(`${name}: ${(err as Error).message}`)
    }
    if (state.paths.has(relativePath)) throw new ValidationError(`${name}: the same relative_path is already in this request`)
    state.paths.add(relativePath)
    return relativePath
  }

  _handleFile (req: Request, file: Express.Multer.File, callback: Callback): void {
    let relativePath: string
    try {
      relativePath = this.#relativePath(req, file)
    } catch (err: unknown) {
      return callback(err)
    }
    const pending = this.#store.begin(this.#limit)
    pending.write(file.stream, this.#state(req).aborted).then(
      () => callback(null, { pending, relativePath, size: pending.bytes, path: pending.tmpPath }),
      (err: unknown) => callback(err)
    )
  }

  _removeFile (_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    const pending = (file as Partial<UploadedFile>).pending
    if (pending === undefined) return callback(null)
    pending.discard().then(() => callback(null), (err: Error) => callback(err))
  }
}
