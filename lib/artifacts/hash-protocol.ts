import type { FileCall, FileFault } from './file-calls'

/** Bytes read per call while hashing, by the worker and by the calling-thread fallback. */
export const STEP = 1024 * 1024

/**
 * What the calling thread tells the hashing worker about a job (a file being written):
 * `open` it, bytes up to `upTo` are on disk (`advance`), it is complete at `size` bytes and
 * its digest is wanted (`finish`), or it is abandoned (`drop`).
 */
export type HashRequest =
  | { op: 'open', id: number, path: string }
  | { op: 'advance', id: number, upTo: number }
  | { op: 'finish', id: number, size: number }
  | { op: 'drop', id: number }
  | (FileCall & { id: number })
  /** Small files' writes in one message: file i holds `bytes` from the previous file's `end` to its own. */
  | { op: 'writes', id: number, files: Array<{ path: string, end: number }>, bytes: Uint8Array }

/**
 * The worker's answer to `finish`: the sha256 (hex), or why it could not be computed; to a
 * file call, nothing when it was made, else its `fault`; to `writes`, each file's fault or null.
 */
export interface HashReply {
  id: number
  sha256?: string
  error?: string
  fault?: FileFault
  faults?: Array<FileFault | null>
}
