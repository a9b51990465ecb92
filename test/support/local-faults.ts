import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { chmod, mkdir, open } from 'node:fs/promises'
import path from 'node:path'

const run = promisify(execFile)

/** Undoes a fault made by the helpers below. */
export type Undo = () => Promise<void>

/**
 * Makes `dir` read-only for this process, whatever its user: root ignores permissions, so as
 * root a read-only bind mount of the directory over itself; otherwise a chmod. Resolves with
 * the undo, or a reason the machine cannot do it.
 */
export async function readOnly (dir: string): Promise<Undo | string> {
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o555)
    return async () => { await chmod(dir, 0o755) }
  }
  try {
    await run('mount', ['--bind', '-o', 'ro', dir, dir])
  } catch (err: unknown) {
    return `cannot make a read-only bind mount here (${(err as Error).message.split('\n')[0]})`
  }
  return async () => { await run('umount', [dir]) }
}

/** Mounts a tmpfs of `size` (e.g. '4m') at `dir`, or says why it cannot (mount needs root). */
export async function smallDisk (dir: string, size: string): Promise<Undo | string> {
  await mkdir(dir, { recursive: true })
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  } catch (err: unknown) {
    return `cannot mount a small tmpfs here (${(err as Error).message.split('\n')[0]})`
  }
  return async () => { await run('umount', ['-l', dir]) }
}

/** Fills the file system of `dir` with one file until it refuses a byte; returns the file. */
export async function fill (dir: string): Promise<string> {
  const file = path.join(dir, 'filler')
  const fh = await open(file, 'w')
  const block = Buffer.alloc(64 * 1024)
  try {
    for (let chunk = block; chunk.length > 0;) {
      try {
        await fh.write(chunk)
      } catch (err: unknown) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
        chunk = chunk.subarray(0, chunk.length >> 1)
      }
    }
  } finally {
    await fh.close()
  }
  return file
}
