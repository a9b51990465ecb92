import path from 'node:path'
import { linkSync, lstatSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs'

/**
 * The artifact store's calls for small files, made synchronously by the hashing worker in one
 * message each (or on the calling thread when there is no worker): for a push of many small
 * files, three thread-pool round trips to write a part and one per link and removal were a
 * tenth of the server's CPU (bench/push.ts, docs/performance.md measure 8).
 */
export type FileCall =
  /** A new temp file with these bytes, created read-only (its artifact must be). */
  | { op: 'write', path: string, bytes: Uint8Array }
  /** Each `[from, to]`: `to` made a hard link of `from`, its directory made if missing; an existing `to` is kept. */
  | { op: 'link', pairs: Array<[string, string]> }
  /** These files removed; a missing one is fine. */
  | { op: 'unlink', paths: string[] }

/** What a failed call reports, enough to rebuild the error (see `faultError`). */
export interface FileFault { message: string, code?: string, syscall?: string, path?: string, dest?: string }

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code

function linkInto (from: string, to: string): void {
  try {
    linkSync(from, to)
  } catch (err: unknown) {
    if (codeOf(err) === 'EEXIST') return
    if (codeOf(err) !== 'ENOENT') throw err
    // The fan-out directory exists but for the first artifacts: made only when missing.
    mkdirSync(path.dirname(to), { recursive: true })
    try {
      linkSync(from, to)
    } catch (again: unknown) {
      if (codeOf(again) !== 'EEXIST') throw again
    }
  }
}

function remove (file: string): void {
  try {
    unlinkSync(file)
  } catch (err: unknown) {
    if (codeOf(err) === 'ENOENT') return
    // A read-only directory answers EROFS even for a file that was never created.
    try {
      lstatSync(file)
    } catch {
      return
    }
    throw err
  }
}

/**
 * Makes `call`. `again`: it may have been made in part already (its worker died meanwhile),
 * so a write first removes what an earlier attempt left.
 */
export function makeFileCall (call: FileCall, again = false): void {
  if (call.op === 'write') {
    if (again) remove(call.path)
    writeFileSync(call.path, call.bytes, { flag: 'wx', mode: 0o444 })
  } else if (call.op === 'link') {
    for (const [from, to] of call.pairs) linkInto(from, to)
  } else {
    for (const file of call.paths) remove(file)
  }
}

export function faultOf (err: unknown): FileFault {
  const e = err as Partial<NodeJS.ErrnoException> & { dest?: string }
  return { message: e.message ?? String(err), code: e.code, syscall: e.syscall, path: e.path, dest: e.dest }
}

/** The error a call failed with, rebuilt on the calling thread with its code, call and path. */
export function faultError (fault: FileFault): Error {
  return Object.assign(new Error(fault.message), Object.fromEntries(Object.entries(fault).filter(([k, v]) => k !== 'message' && v !== undefined)))
}
