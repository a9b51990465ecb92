import type { Request } from 'express'
import type { StorageEngine } from 'multer'
import type { ArtifactStore, PendingArtifact } from '../artifacts/store'

/** What our engine leaves on `req.file`: the temp file, hashed while it streamed. */
export interface UploadedFile extends Express.Multer.File {
  pending: PendingArtifact
}

type Callback = (error?: unknown, info?: Partial<UploadedFile>) => void

/**
 * A multer storage engine that streams each file into `tmp/` while hashing it, so an upload
 * of any size never sits in memory. A client that disconnects mid-upload leaves nothing.
 */
export class ArtifactUploadStorage implements StorageEngine {
  readonly #store: ArtifactStore
  readonly #limit: number

  constructor (store: ArtifactStore, limit: number) {
    this.#store = store
    this.#limit = limit
  }

  _handleFile (req: Request, file: Express.Multer.File, callback: Callback): void {
    const pending = this.#store.begin(this.#limit)
    const aborted = new AbortController()
    // Busboy never ends the file stream of a request that was cut off: stop it ourselves.
    const onClose = (): void => { if (!req.complete) aborted.abort() }
    req.once('close', onClose)
    pending.write(file.stream, aborted.signal).then(
      () => callback(null, { pending, size: pending.bytes, path: pending.tmpPath }),
      (err: unknown) => callback(err)
    ).finally(() => req.off('close', onClose))
  }

  _removeFile (_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    const pending = (file as Partial<UploadedFile>).pending
    if (pending === undefined) return callback(null)
    pending.discard().then(() => callback(null), (err: Error) => callback(err))
  }
}
