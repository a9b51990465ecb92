import { existsSync, readlinkSync } from 'node:fs'
import path from 'node:path'

/** Linux names the file behind a descriptor here; without it only the identity check holds. */
const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined

/** Whether `child` is `root` or lies below it (both real, absolute paths). */
export function isWithin (child: string, root: string): boolean {
  if (child === root) return true
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  return child.startsWith(prefix)
}

/**
 * Whether the file open at `fd` lies where `allowed` says it may, by the path the kernel keeps
 * for the descriptor: no link swapped in between a check of the path and its open can fool it.
 * A deleted file (" (deleted)") is refused by its name. One readlink, so it is meant for a
 * file's first open; later opens compare the descriptor's device and inode with this one's.
 */
export function openedWithin (fd: number, allowed: (real: string) => boolean): boolean {
  if (PROC_FD === undefined) return true
  const opened = openedPath(fd)
  return opened !== undefined && allowed(opened)
}

/** The real path of the file open at `fd` as the kernel keeps it; undefined where it cannot say. */
export function openedPath (fd: number): string | undefined {
  if (PROC_FD === undefined) return undefined
  try {
    return readlinkSync(PROC_FD + String(fd))
  } catch {
    return undefined
  }
}
