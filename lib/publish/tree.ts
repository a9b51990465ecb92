import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { lstat, mkdir, readdir, readlink, rename, rm, rmdir, stat, symlink, unlink, utimes } from 'node:fs/promises'
import createDebug from 'debug'
import { ConflictError } from '../errors'
import type { ServeProtocols } from '../plugins/distributor'

const debug = createDebug('pulp:publish:tree')

export const PROTOCOLS = ['http', 'https'] as const
export type Protocol = typeof PROTOCOLS[number]

/** Whose publications: one repository's distributor. */
export interface Owner { repoId: string, distributorId: string }

const STAGING = '.staging'
const TMP_LINK = /^\..*\.tmp$/

function isMissing (err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT'
}

/** Creates `dir` and its missing parents one level at a time, so a failure has its real code. */
async function mkdirLevels (dir: string): Promise<void> {
  const missing: string[] = []
  for (let d = dir; !(await lstat(d).then(() => true, () => false)); d = path.dirname(d)) missing.unshift(d)
  for (const d of missing) {
    await mkdir(d).catch((err: unknown) => { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err })
  }
}

/**
 * The published trees on disk. A publication is built in `publications/<repo>/<dist>/<id>.staging`,
 * renamed to `<id>` when done, and served through `publish/<protocol>/<relative_url>`, a
 * relative symlink that is switched by renaming a new link over it: readers see the old tree or
 * the new one, never a mix (Pulp 2's AtomicDirectoryPublishStep). Relative links keep the whole
 * data directory movable. A superseded publication is removed after the grace period.
 */
export class PublicationTree {
  readonly publicationsRoot: string
  readonly publishRoot: string
  readonly #graceMs: number
  readonly #timers = new Set<NodeJS.Timeout>()
  #closed = false
  #sweeper: NodeJS.Timeout | undefined

  constructor (dataDir: string, gracePeriodSeconds: number) {
    this.publicationsRoot = path.join(dataDir, 'publications')
    this.publishRoot = path.join(dataDir, 'publish')
    this.#graceMs = gracePeriodSeconds * 1000
  }

  ownerDir (owner: Owner): string {
    return path.join(this.publicationsRoot, owner.repoId, owner.distributorId)
  }

  workingDir (owner: Owner, taskId: string): string {
    return this.publicationDir(owner, taskId) + STAGING
  }

  /** Where the publication of `taskId` lives once its working directory is finalized. */
  publicationDir (owner: Owner, taskId: string): string {
    return path.join(this.ownerDir(owner), taskId)
  }

  linkPath (protocol: Protocol, relativeUrl: string): string {
    return path.join(this.publishRoot, protocol, ...relativeUrl.split('/'))
  }

  /** A fresh, empty working directory (left-overs of an earlier attempt are removed). */
  async prepareWorkingDir (dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true })
    try {
      await mkdir(dir, { recursive: true })
    } catch (err: unknown) {
      // A sweep may remove the empty owner directory between mkdir's steps: once more, level by
      // level, is enough; and a recursive mkdir reports EROFS or EACCES as ENOENT, one level does not.
      if (!isMissing(err)) throw err
      await mkdirLevels(dir)
    }
  }

  /** Turns a finished working directory into a publication; returns its final path. */
  async finalize (workingDir: string): Promise<string> {
    if (!workingDir.endsWith(STAGING)) throw new Error(`not a working directory: ${workingDir}`)
    const final = workingDir.slice(0, -STAGING.length)
    await rename(workingDir, final)
    // Fresh for the sweep, which leaves young unserved publications alone until they are linked.
    const at = new Date()
    await utimes(final, at, at)
    return final
  }

  /**
   * Serves `publicationDir` at `relativeUrl` for each protocol set to true, removes the owner's
   * link for each protocol set to false, and retires whatever publication that left unserved.
   */
  async activate (owner: Owner, publicationDir: string, relativeUrl: string, protocols: ServeProtocols): Promise<void> {
    const replaced: string[] = []
    try {
      // Check every link first, so a conflict on the second protocol does not leave the first switched.
      for (const protocol of PROTOCOLS) {
        const current = await this.#target(this.linkPath(protocol, relativeUrl))
        if (current !== undefined && !this.#owns(owner, current)) {
          throw new ConflictError(`publish/${protocol}/${relativeUrl} is served by another distributor`)
        }
      }
      for (const protocol of PROTOCOLS) {
        const link = this.linkPath(protocol, relativeUrl)
        const old = protocols[protocol]
          ? await this.#swap(owner, link, publicationDir)
          : await this.#removeOwnedLink(owner, link)
        if (old !== undefined && old !== publicationDir) replaced.push(old)
      }
    } catch (err: unknown) {
      // A publication that no link serves must not linger.
      await this.#retireUnserved([publicationDir], [relativeUrl], 0)
      throw err
    }
    await this.#retireUnserved(replaced, [relativeUrl])
    debug('%s/%s serves %s at %s (%o)', owner.repoId, owner.distributorId, path.basename(publicationDir), relativeUrl, protocols)
  }

  /** Removes the owner's links at `relativeUrl` (a link of another owner is left alone). */
  async unpublish (owner: Owner, relativeUrl: string): Promise<void> {
    const replaced: string[] = []
    for (const protocol of PROTOCOLS) {
      const old = await this.#removeOwnedLink(owner, this.linkPath(protocol, relativeUrl))
      if (old !== undefined) replaced.push(old)
    }
    await this.#retireUnserved(replaced, [relativeUrl])
    if (replaced.length > 0) debug('%s/%s unpublished %s', owner.repoId, owner.distributorId, relativeUrl)
  }

  async #target (link: string): Promise<string | undefined> {
    let info
    try {
      info = await lstat(link)
    } catch (err: unknown) {
      if (isMissing(err)) return undefined
      throw err
    }
    if (!info.isSymbolicLink()) throw new ConflictError(`${path.relative(this.publishRoot, link)} exists and is not a published link`)
    return path.resolve(path.dirname(link), await readlink(link))
  }

  #owns (owner: Owner, target: string): boolean {
    return target.startsWith(this.ownerDir(owner) + path.sep)
  }

  async #swap (owner: Owner, link: string, publicationDir: string): Promise<string | undefined> {
    const old = await this.#target(link)
    if (old !== undefined && !this.#owns(owner, old)) {
      throw new ConflictError(`${path.relative(this.publishRoot, link)} is served by another distributor`)
    }
    // A link inside another published link would write into that publication.
    const inside = (d: string): boolean =>
      d.startsWith(this.publishRoot + path.sep) && d.split(path.sep).length > this.publishRoot.split(path.sep).length + 1
    for (let d = path.dirname(link); inside(d); d = path.dirname(d)) {
      const info = await lstat(d).catch(() => undefined)
      if (info?.isSymbolicLink() === true) throw new ConflictError(`${path.relative(this.publishRoot, link)} would nest inside the published ${path.relative(this.publishRoot, d)}`)
    }
    await mkdir(path.dirname(link), { recursive: true })
    const tmp = path.join(path.dirname(link), `.${path.basename(link)}.${randomUUID()}.tmp`)
    await symlink(path.relative(path.dirname(link), publicationDir), tmp)
    try {
      // rename(2) replaces the old link in one step: there is no moment without one.
      await rename(tmp, link)
    } catch (err: unknown) {
      await unlink(tmp).catch(() => {})
      throw err
    }
    return old
  }

  async #removeOwnedLink (owner: Owner, link: string): Promise<string | undefined> {
    let old: string | undefined
    try {
      old = await this.#target(link)
    } catch (err: unknown) {
      if (err instanceof ConflictError) return undefined
      throw err
    }
    if (old === undefined || !this.#owns(owner, old)) return undefined
    await unlink(link).catch((err: unknown) => { if (!isMissing(err)) throw err })
    await this.#pruneEmptyParents(path.dirname(link))
    return old
  }

  async #pruneEmptyParents (dir: string): Promise<void> {
    const roots = new Set(PROTOCOLS.map((p) => path.join(this.publishRoot, p)))
    for (let d = dir; !roots.has(d) && d.startsWith(this.publishRoot + path.sep); d = path.dirname(d)) {
      try {
        await rmdir(d)
      } catch {
        return
      }
    }
  }

  async #retireUnserved (candidates: string[], relativeUrls: string[], delayMs = this.#graceMs): Promise<void> {
    const served = new Set<string>()
    for (const url of relativeUrls) {
      for (const protocol of PROTOCOLS) {
        const target = await this.#target(this.linkPath(protocol, url)).catch(() => undefined)
        if (target !== undefined) served.add(target)
      }
    }
    for (const dir of new Set(candidates)) if (!served.has(dir)) await this.retire(dir, delayMs)
  }

  /** Removes a superseded publication once the grace period has passed. */
  async retire (dir: string, delayMs = this.#graceMs): Promise<void> {
    if (!dir.startsWith(this.publicationsRoot + path.sep)) return
    if (delayMs <= 0) {
      await rm(dir, { recursive: true, force: true })
      debug('removed %s', dir)
      return
    }
    // The modification time records when it was superseded, for the sweep after a restart.
    const at = new Date()
    await utimes(dir, at, at).catch(() => {})
    if (this.#closed) return
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      rm(dir, { recursive: true, force: true }).then(() => debug('removed %s', dir), (err: unknown) => debug('could not remove %s: %O', dir, err))
    }, delayMs)
    timer.unref()
    this.#timers.add(timer)
  }

  /** The links (relative to `publish/`) that serve `publicationDir`. */
  async linksServing (publicationDir: string): Promise<string[]> {
    return [...(await this.#links(false)).entries()]
      .filter(([, target]) => target === publicationDir)
      .map(([link]) => path.relative(this.publishRoot, link))
  }

  /** Every published link and the publication it points to; `sweep` removes stale temporary links on the way. */
  async #links (sweep: boolean): Promise<Map<string, string>> {
    const served = new Map<string, string>()
    const walk = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name)
        if (entry.isSymbolicLink()) {
          if (TMP_LINK.test(entry.name)) {
            if (sweep) await unlink(full).catch(() => {})
          } else served.set(full, path.resolve(dir, await readlink(full)))
        } else if (entry.isDirectory()) {
          await walk(full)
        }
      }
    }
    for (const protocol of PROTOCOLS) await walk(path.join(this.publishRoot, protocol))
    return served
  }

  /**
   * Removes publications that no link serves and that were superseded (or built) more than the
   * grace period ago: left-overs of a restart, or of another process. Runs at start-up and then
   * every grace period. Working directories are left to task recovery.
   */
  async sweep (): Promise<void> {
    const served = new Set((await this.#links(true)).values())
    const dirs = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name))
    for (const repoDir of await dirs(this.publicationsRoot)) {
      for (const ownerDir of await dirs(repoDir)) {
        for (const publication of await dirs(ownerDir)) {
          if (publication.endsWith(STAGING) || served.has(publication)) continue
          const modified = (await stat(publication).catch(() => undefined))?.mtimeMs
          if (modified === undefined || Date.now() - modified < this.#graceMs) continue
          await rm(publication, { recursive: true, force: true })
          debug('swept %s', publication)
        }
        await rmdir(ownerDir).catch(() => {})
      }
      await rmdir(repoDir).catch(() => {})
    }
  }

  /** Sweeps now and then every grace period (at least every minute), until `close()`. */
  async startSweeping (): Promise<void> {
    await this.sweep()
    if (this.#closed) return
    const timer = setInterval(() => {
      this.sweep().catch((err: unknown) => debug('sweep failed: %O', err))
    }, Math.max(this.#graceMs, 60_000))
    timer.unref()
    this.#sweeper = timer
  }

  /** Stops pending removals; a later sweep finishes them. */
  close (): void {
    this.#closed = true
    clearInterval(this.#sweeper)
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }
}
