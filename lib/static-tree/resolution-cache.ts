import { lstatSync, readlinkSync, type Stats } from 'node:fs'
import path from 'node:path'
import { lstat, readlink, realpath } from '../http/fast-fs'
import { KeptBodies, KeptFile } from '../http/kept-bodies'

/**
 * The fact a cached resolution depends on. Publications and artifacts never change once
 * written; what changes is which publication `publish/<scheme>/<relative_url>` links to (one
 * rename per publish), or whether a path exists at all. One syscall checks either.
 */
export type Guard =
  /** Valid while `link` still holds `target`: a publish swaps in a link with another target. */
  | { link: string, target: string }
  /** Valid while nothing exists at `absent` (a prefix of the request path). */
  | { absent: string }

export interface FileResolution {
  kind: 'file'
  guard: Guard
  /** The real file, its stat, whether its first open was checked, and its bytes if small. */
  file: KeptFile
}

export type Resolution = FileResolution | { kind: 'absent', guard: Guard }

/** An entry, and the turn its guard was last found to hold in (see Turns). */
interface Entry { resolution: Resolution, checked: number }

/** Entries kept at most; the oldest go first. */
const MAX_ENTRIES = 10_000

/**
 * Request paths of the static tree resolved before: the real file and its stat, or "nothing
 * here". The first use in each turn of the event loop (see Turns) re-checks the entry's guard,
 * synchronously: a readlink or lstat of a
 * dentry the kernel has cached costs a few microseconds, while the realpath and stat it
 * replaces cost two thread-pool round trips (~26 µs per request on the author's machine).
 * An entry whose guard fails is dropped, and the caller resolves the path afresh.
 */
export class ResolutionCache {
  readonly #entries = new Map<string, Entry>()
  /** Paths asked for once: only a second request pays for working out a guard. */
  readonly #seen = new Set<string>()
  readonly #max: number
  /** Bytes of small files' bodies kept with entries (see KeptFile). */
  readonly #kept = new KeptBodies()

  constructor (max = MAX_ENTRIES) {
    this.#max = max
  }

  get size (): number { return this.#entries.size }

  /** Bytes of small files' bodies held in memory. */
  get keptBytes (): number { return this.#kept.bytes }

  /** The entry for `key` if its guard still holds. */
  get (key: string): Resolution | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    const turn = this.#kept.turns.current()
    if (entry.checked === turn) return entry.resolution
    if (holds(entry.resolution.guard)) {
      entry.checked = turn
      return entry.resolution
    }
    this.delete(key)
    return undefined
  }

  /** An entry for the regular file `real`, whose bytes (if small) count against this cache's budget once set. */
  fileEntry (real: string, stat: Stats, guard: Guard): FileResolution {
    return { kind: 'file', guard, file: new KeptFile(real, stat, this.#kept) }
  }

  /**
   * Whether `key` is worth a guard: true the second time it is asked for. Working one out costs
   * a few syscalls, more than the resolution itself, so a client that fetches every file of a
   * big tree once (a mirror) should not pay for it.
   */
  admit (key: string): boolean {
    if (this.#seen.delete(key)) return true
    if (this.#seen.size >= this.#max) this.#seen.delete(this.#seen.values().next().value as string)
    this.#seen.add(key)
    return false
  }

  /** Remembers `resolution`; its guard is checked on its first use (it was worked out across awaits). */
  set (key: string, resolution: Resolution): void {
    if (this.#entries.get(key)?.resolution !== resolution) this.delete(key)
    if (this.#entries.size >= this.#max) this.delete(this.#entries.keys().next().value as string)
    this.#entries.set(key, { resolution, checked: -1 })
  }

  delete (key: string): void {
    const entry = this.#entries.get(key)
    if (entry?.resolution.kind === 'file') entry.resolution.file.drop()
    this.#entries.delete(key)
  }
}

function holds (guard: Guard): boolean {
  try {
    if ('link' in guard) return readlinkSync(guard.link) === guard.target
    return lstatSync(guard.absent, { throwIfNoEntry: false }) === undefined
  } catch {
    return false
  }
}

/** The first symlink on the way from `base` down `segments`, or the first prefix missing. */
async function firstStop (base: string, segments: readonly string[]): Promise<{ guard: Guard, depth: number } | undefined> {
  let at = base
  for (let i = 0; i < segments.length; i++) {
    at = path.join(at, segments[i])
    let info: Stats
    try {
      info = await lstat(at)
    } catch (err: unknown) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { guard: { absent: at }, depth: i + 1 } : undefined
    }
    if (info.isSymbolicLink()) {
      try {
        return { guard: { link: at, target: await readlink(at) }, depth: i + 1 }
      } catch {
        return undefined
      }
    }
    if (!info.isDirectory()) return undefined
  }
  return undefined
}

/**
 * The guard of a path found missing under `base`: the first prefix that does not exist, and
 * how many segments it has (every path below that prefix is missing under the same guard).
 */
export async function absentGuard (base: string, segments: readonly string[]): Promise<{ guard: Guard, depth: number } | undefined> {
  const stop = await firstStop(base, segments)
  // Missing behind a link is not cached: an artifact that a publication links to may come back.
  return stop !== undefined && 'absent' in stop.guard ? stop : undefined
}

/**
 * The guard under which `segments` (below `base`) keeps resolving to the regular file `real`,
 * or undefined when that cannot be shown. It can when the path enters a publication through
 * one link (a publication never changes once written) and ends either at a file of that
 * publication, or at one link from it straight into `artifacts` (content-addressed, never
 * changed), as the web distributor builds them. Anything else (a plain file in the tree,
 * links between publications or back into publish/) is resolved afresh on every request.
 */
export async function fileGuard (
  base: string,
  segments: readonly string[],
  real: string,
  artifacts: string | undefined
): Promise<Guard | undefined> {
  const first = await firstStop(base, segments)
  if (first === undefined || !('link' in first.guard) || first.depth === segments.length) return undefined
  try {
    const lexical = path.join(await realpath(first.guard.link), ...segments.slice(first.depth))
    if (real !== lexical) {
      if (artifacts === undefined || !real.startsWith(artifacts + path.sep)) return undefined
      const dir = path.dirname(lexical)
      if (await realpath(dir) !== dir) return undefined
      if (path.resolve(dir, await readlink(lexical)) !== real) return undefined
    }
  } catch {
    return undefined
  }
  // The link may have been swapped while we looked: only a target read before and after counts.
  const second = await firstStop(base, segments)
  return second !== undefined && 'link' in second.guard && second.guard.link === first.guard.link &&
    second.guard.target === first.guard.target ? first.guard : undefined
}
