import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { lstat, readdir, rm, stat, unlink } from 'node:fs/promises'
import createDebug from 'debug'

const debug = createDebug('pulp:artifacts:temp')

/** What a temp file holds: an upload (or ingested stream) being stored, or a pull-through spool. */
export type TempKind = 'part' | 'pull'

/** `<instance id>.<uuid>.<kind>`: the instance that writes it is in its name, for the sweep. */
const NAME = /^([0-9a-f-]{36})\.[0-9a-f-]{36}\.(?:part|pull)$/

/**
 * A file not named by any instance (left by a version that did not name its instance) is
 * removed once it has not changed for this long: long enough for any upload or download still
 * writing it, as one that stalls longer fails on its own timeouts.
 */
export const UNNAMED_QUIET_MS = 60 * 60 * 1000

/** What the sweep needs to know about other instances. */
export interface SweepJudge {
  /** Whether the instance with this id still runs (its heartbeat, its pid on this host). */
  isAlive: (instanceId: string) => boolean
}

/**
 * The one place temp files under `tmp/` are named. Each name carries this instance's id, and
 * this instance remembers the names it handed out until they are released, so a sweep can tell
 * what still belongs to a running upload or download: of this instance, the names it holds; of
 * another, every file while that instance lives (instances share the volume, see temp-sweep.ts).
 */
export class TempFiles {
  readonly dir: string
  readonly instanceId: string
  readonly #held = new Set<string>()

  constructor (dir: string, instanceId: string) {
    this.dir = dir
    this.instanceId = instanceId
  }

  /** A fresh path under `tmp/`, held until `release()`; the caller creates the file. */
  create (kind: TempKind): string {
    const name = `${this.instanceId}.${randomUUID()}.${kind}`
    this.#held.add(name)
    return path.join(this.dir, name)
  }

  /** Removes the file (if it exists) and lets go of its name. */
  async release (file: string): Promise<void> {
    try {
      // One unlink: `rm` would lstat first, a second syscall per upload.
      await unlink(file).catch(async (err: NodeJS.ErrnoException) => {
        // A read-only directory answers EROFS even for a file that was never created.
        if (err.code !== 'ENOENT' && await lstat(file).then(() => true, () => false)) throw err
      })
    } finally {
      this.#held.delete(path.basename(file))
    }
  }

  /** `release` for several files, removed by `remove` (in one call, say). */
  async releaseAll (files: readonly string[], remove: (files: string[]) => Promise<void>): Promise<void> {
    try {
      await remove([...files])
    } finally {
      for (const file of files) this.#held.delete(path.basename(file))
    }
  }

  /** Names held by running uploads and downloads of this instance. */
  get held (): number { return this.#held.size }

  /**
   * Removes what belongs to no running upload or download: files of this instance it no
   * longer holds, files of instances that are gone, and unnamed files still for
   * `UNNAMED_QUIET_MS`. Files of a live instance stay however old: an upload from a slow client
   * or a download a reader still holds may last hours, and a live instance removes what it
   * leaked itself. Returns the names removed.
   */
  async sweep (judgeOf: (otherInstances: string[]) => Promise<SweepJudge>): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const others = new Set<string>()
    for (const name of names) {
      const owner = NAME.exec(name)?.[1]
      if (owner !== undefined && owner !== this.instanceId) others.add(owner)
    }
    const judge = await judgeOf([...others])
    const removed: string[] = []
    const now = Date.now()
    for (const name of names) {
      const owner = NAME.exec(name)?.[1]
      // A name handed out after the readdir is not in `names`; one released since is gone anyway.
      if (owner === this.instanceId) {
        if (this.#held.has(name)) continue
      } else if (owner !== undefined) {
        if (judge.isAlive(owner)) continue
      } else {
        const info = await stat(path.join(this.dir, name)).catch(() => undefined)
        if (info === undefined || !info.isFile() || now - info.mtimeMs < UNNAMED_QUIET_MS) continue
      }
      await rm(path.join(this.dir, name), { force: true })
      removed.push(name)
    }
    if (removed.length > 0) debug('swept %d temp file(s): %o', removed.length, removed)
    return removed
  }
}
