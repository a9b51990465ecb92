import { lstat as lstatCallback, lstatSync, readlink as readlinkCallback, realpath as realpathCallback, stat as statCallback, type Stats } from 'node:fs'

// The content path's file-system calls, callback fs wrapped by hand: on Node 20 fs/promises
// costs several times the main thread's CPU per call, and these run on every request.

export function stat (file: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    statCallback(file, (err, st) => { err === null ? resolve(st) : reject(err) })
  })
}

export function lstat (file: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    lstatCallback(file, (err, st) => { err === null ? resolve(st) : reject(err) })
  })
}

export function readlink (file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    readlinkCallback(file, (err, target) => { err === null ? resolve(target) : reject(err) })
  })
}

/** The kernel's realpath (one call), not fs's JavaScript walk. */
export function realpath (file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    realpathCallback.native(file, (err, real) => { err === null ? resolve(real) : reject(err) })
  })
}

/**
 * Whether `file` is still the regular file `then` describes (device, inode, size, modification
 * and change times): one synchronous lstat, cheaper than a thread-pool round trip, which is
 * what a small body kept in memory saves its reader from.
 */
export function sameFileSync (file: string, then: Stats): boolean {
  try {
    const now = lstatSync(file, { throwIfNoEntry: false })
    return now !== undefined && now.isFile() && now.ino === then.ino && now.dev === then.dev && now.size === then.size &&
      now.mtimeMs === then.mtimeMs && now.ctimeMs === then.ctimeMs
  } catch {
    return false
  }
}
