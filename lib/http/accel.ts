import { realpathSync } from 'node:fs'
import path from 'node:path'
import type { ResolvedAccelOptions } from '../options'
import { isWithin, openedPath } from './containment'

/**
 * Names files for the front server (CONTRACT 14): the value of nginx's X-Accel-Redirect or
 * mod_xsendfile's X-Sendfile for a file the middleware has opened and checked.
 *
 * The value is `prefix` + the file's real path below the real `dataDir`, each segment
 * percent-encoded (nginx and mod_xsendfile both decode it). The real path is the one the
 * kernel holds for the checked descriptor, so it has no symlink left in it: the front server
 * opens exactly the file that was checked, and can refuse any link (`disable_symlinks on`).
 */
export class FrontServer {
  /** The header's name, lower case. */
  readonly header: ResolvedAccelOptions['header']
  readonly minSize: number
  readonly #prefix: string
  readonly #dataDir: string
  #realDataDir: string | undefined

  constructor (options: ResolvedAccelOptions, dataDir: string) {
    this.header = options.header
    this.minSize = options.minSize
    this.#prefix = options.prefix
    this.#dataDir = path.resolve(dataDir)
  }

  /**
   * The header's value for the file open at `fd` (reached as `file`), or undefined when its
   * real path lies outside `dataDir` (an `artifacts/` linked to another disk, say): the
   * middleware sends that file itself.
   */
  locate (fd: number, file: string): string | undefined {
    const real = openedPath(fd) ?? file
    // Without /proc the path is the caller's: real for the static tree, below `dataDir` as given for an artifact.
    const root = [this.#realRoot(), this.#dataDir].find((r) => real !== r && isWithin(real, r))
    if (root === undefined) return undefined
    return this.#prefix + real.slice(root.length + 1).split(path.sep).map(encodeURIComponent).join('/')
  }

  #realRoot (): string {
    if (this.#realDataDir !== undefined) return this.#realDataDir
    try {
      this.#realDataDir = realpathSync(this.#dataDir)
    } catch {
      return this.#dataDir // not there yet: nothing under it can be open either
    }
    return this.#realDataDir
  }
}
