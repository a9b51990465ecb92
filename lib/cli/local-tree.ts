import path from 'node:path'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
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
  // Many stats in flight: one at a time, a tree of 10,000 files spent seconds waiting on each.
  await eachLimit(entries, 32, async (entry) => {
    const full = path.join(entry.parentPath, entry.name)
    const info = entry.isFile() ? await stat(full) : entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : undefined
    if (info === undefined || !info.isFile()) return
    files.push({ relativePath: path.relative(root, full).split(path.sep).join('/'), path: full, size: info.size })
  })
  return files.sort((a, b) => a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0)
}

/** The sha256 of a file, streamed; `onBytes` hears of every chunk. */
export async function sha256File (file: string, size: number, onBytes: (n: number) => void = () => {}): Promise<string> {
  const hash = createHash('sha256')
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
