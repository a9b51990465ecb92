import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** How the file stood when its digest was taken: any write changes one of these. */
export interface FileStamp {
  size: number
  /** Nanoseconds, as decimal strings (a bigint stat's). */
  mtimeNs: string
  ctimeNs: string
  ino: string
}

/**
 * A stamp this close to the moment its digest was taken may hide a write that came after the
 * read within the same clock tick (file systems keep coarse timestamps): such a digest is not
 * remembered, and the file is read again next time (git's "racily clean" rule).
 */
const RACY_MS = 1000
const VERSION = 1

type Entry = [size: number, mtimeNs: string, ctimeNs: string, ino: string, sha256: string]

/**
 * The digests `push` took of a directory's files for one repository, kept between runs in the
 * user's cache directory (`$XDG_CACHE_HOME/pulp-middleware/push/`, else `~/.cache/...`), so an
 * unchanged file is not read again: a file whose size, modification and change times and inode
 * are those recorded with a digest has that digest. A change time cannot be set back by a
 * user, so a rewrite that restores the modification time is still seen. `--rehash` ignores it.
 */
export class DigestCache {
  readonly #file: string
  readonly #entries: Map<string, Entry>
  #changed = false

  private constructor (file: string, entries: Map<string, Entry>) {
    this.#file = file
    this.#entries = entries
  }

  /**
   * The cache of `dir` pushed to `repo` at `url`; an unreadable or foreign file starts empty, as
   * does every one under `fresh` (`--rehash`: read every file again, then remember anew).
   */
  static open (url: string, repo: string, dir: string, options: { env?: NodeJS.ProcessEnv, fresh?: boolean } = {}): DigestCache {
    const env = options.env ?? process.env
    const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache')
    const key = createHash('sha256').update(`${url}\n${repo}\n${path.resolve(dir)}`).digest('hex').slice(0, 32)
    const file = path.join(base, 'pulp-middleware', 'push', `${key}.json`)
    let entries = new Map<string, Entry>()
    try {
      if (options.fresh === true) return new DigestCache(file, entries)
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { version?: number, files?: Record<string, Entry> }
      if (saved.version === VERSION && saved.files !== undefined) entries = new Map(Object.entries(saved.files))
    } catch {
      // None yet, or unreadable: every file is read once more, nothing worse.
    }
    return new DigestCache(file, entries)
  }

  /** The digest recorded for the file at `relativePath` if it still stands as it did then. */
  get (relativePath: string, stamp: FileStamp): string | undefined {
    const entry = this.#entries.get(relativePath)
    if (entry === undefined) return undefined
    const [size, mtimeNs, ctimeNs, ino, sha256] = entry
    return size === stamp.size && mtimeNs === stamp.mtimeNs && ctimeNs === stamp.ctimeNs && ino === stamp.ino ? sha256 : undefined
  }

  /**
   * Records a digest of the file as stamped, read no earlier than `readAfter` (ms since the
   * epoch). A file changed less than a second before that is not recorded (see RACY_MS).
   */
  set (relativePath: string, stamp: FileStamp, sha256: string, readAfter: number): void {
    const mtime = BigInt(stamp.mtimeNs)
    const ctime = BigInt(stamp.ctimeNs)
    const newest = Number((mtime > ctime ? mtime : ctime) / 1_000_000n)
    if (newest > readAfter - RACY_MS) {
      if (this.#entries.delete(relativePath)) this.#changed = true
      return
    }
    this.#entries.set(relativePath, [stamp.size, stamp.mtimeNs, stamp.ctimeNs, stamp.ino, sha256])
    this.#changed = true
  }

  /** Keeps only these paths (the directory's files now). */
  retain (relativePaths: ReadonlySet<string>): void {
    for (const key of this.#entries.keys()) {
      if (!relativePaths.has(key)) {
        this.#entries.delete(key)
        this.#changed = true
      }
    }
  }

  /**
   * Writes the cache (a new file renamed over the old: a crash leaves one or the other). A
   * cache directory that cannot be written costs the next push its reads, never this push its
   * success: the error is answered, not thrown.
   */
  save (): Error | undefined {
    if (!this.#changed) return undefined
    try {
      mkdirSync(path.dirname(this.#file), { recursive: true })
      const tmp = `${this.#file}.${process.pid}.tmp`
      writeFileSync(tmp, JSON.stringify({ version: VERSION, files: Object.fromEntries(this.#entries) }))
      renameSync(tmp, this.#file)
      this.#changed = false
      return undefined
    } catch (err: unknown) {
      return err as Error
    }
  }
}
