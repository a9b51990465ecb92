import { lstat as lstatCallback, readlink as readlinkCallback, realpath as realpathCallback, stat as statCallback, type Stats } from 'node:fs'

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
