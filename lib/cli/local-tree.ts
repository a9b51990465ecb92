import path from 'node:path'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync, type BigIntStats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { CommandError } from '../errors'
import type { LocalFile } from './multipart'

/**
 * Every regular file below `root` (symlinks to files count as files; links to directories are
 * not followed, so a loop cannot make the walk endless), in path order, with `/` between
 * segments whatever the platform.
 */
export async function listTree (root: string): Promise<LocalFile[]> {
  let top
  try {
    top = await stat(root)
  } catch (err: unknown) {
    throw new CommandError(`cannot read ${root}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  if (!top.isDirectory()) throw new CommandError(`${root} is not a directory`)
  const entries = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => !e.isDirectory())
  const files: LocalFile[] = []
  // Each directory's path below the root, worked out once: `path.relative` for every file was
  // a sixth of listing 10,000 files (bench/push.ts).
  const below = new Map<string, string>()
  // Synchronous stats: a command has nothing else to do meanwhile, and each thread-pool round
  // trip cost more than the stat itself (10,000 files: bench/push.ts).
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name)
    let prefix = below.get(entry.parentPath)
    if (prefix === undefined) {
      const relative = path.relative(root, entry.parentPath).split(path.sep).join('/')
      below.set(entry.parentPath, prefix = relative === '' ? '' : `${relative}/`)
    }
    let info: BigIntStats | undefined
    try {
      info = entry.isFile() || entry.isSymbolicLink() ? statSync(full, { bigint: true }) : undefined
    } catch (err: unknown) {
      // A dangling link is skipped; a file that cannot be read is an error, as before.
      if (!entry.isSymbolicLink()) throw err
    }
    if (info === undefined || !info.isFile()) continue
    const size = Number(info.size)
    const stamp = { size, mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs), ino: String(info.ino) }
    files.push({ relativePath: prefix + entry.name, path: full, size, stamp })
  }
  return files.sort((a, b) => a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0)
}

/**
 * Files up to this size are read whole with one synchronous call: for a tree of small files,
 * a stream per file (open, read, close, each a thread-pool round trip) was most of a push's
 * time on the command's side (bench/push.ts). Larger files stream.
 */
export const SMALL_FILE = 256 * 1024

/**
 * Reads up to `length` bytes of `file` into `buffer` at `offset`; answers how many there were.
 * A read that returns less than asked has met the end of the file (a regular file's reads
 * are short only there), so a small file costs an open, one read and a close.
 */
export function readInto (file: string, buffer: Buffer, offset: number, length: number): number {
  const fd = openSync(file, 'r')
  try {
    let read = 0
    while (read < length) {
      const n = readSync(fd, buffer, offset + read, length - read, null)
      read += n
      if (n === 0 || read < length) break
    }
    return read
  } finally {
    closeSync(fd)
  }
}

/** The sha256 of a file, streamed (read whole when small); `onBytes` hears of every chunk. */
export async function sha256File (file: string, size: number, onBytes: (n: number) => void = () => {}): Promise<string> {
  const hash = createHash('sha256')
  if (size <= SMALL_FILE) {
    const bytes = readFileSync(file)
    onBytes(bytes.length)
    return hash.update(bytes).digest('hex')
  }
  // A buffer the size of the file, up to 1 MiB: a 1 MiB buffer for each small file was most of
  // the time of a push of many small files, in the garbage collector.
  for await (const chunk of createReadStream(file, { highWaterMark: Math.max(1, Math.min(1024 * 1024, size)) }) as AsyncIterable<Buffer>) {
    hash.update(chunk)
    onBytes(chunk.length)
  }
  return hash.digest('hex')
}

/** Runs `work` over `items` with at most `limit` at once; the first failure stops new work and rejects. */
export async function eachLimit<T> (items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  const runner = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]
      try {
        await work(item)
      } catch (err: unknown) {
        failed = true
        throw err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, runner))
}
