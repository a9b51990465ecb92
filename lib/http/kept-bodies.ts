import type { Stats } from 'node:fs'
import { sameFileSync } from './fast-fs'
import type { BodyMemo } from './send-file'
import { Turns } from './turns'

/**
 * Files up to this size have their bytes kept with what a cache knows of them, up to
 * KEPT_BODIES bytes in all per cache: a small file is then sent with no open, read or close,
 * two thread-pool round trips that were most of its cost (bench 1 and 2, 1 KiB lines).
 */
const MAX_KEPT_BODY = 16 * 1024
const KEPT_BODIES = 8 * 1024 * 1024

/** The bytes one cache keeps for its files, counted against its budget (one per cache: nothing shared). */
export class KeptBodies {
  #bytes = 0
  readonly #max: number
  /** When this cache's files were last checked against the disk (see Turns). */
  readonly turns = new Turns()

  constructor (max = KEPT_BODIES) {
    this.#max = max
  }

  get bytes (): number { return this.#bytes }

  /**
   * A copy of `read` in memory of its own (a small read is a slice of a shared pool that it
   * would keep whole), or undefined once the budget is spent.
   */
  copy (read: Buffer): Buffer | undefined {
    if (this.#bytes + read.length > this.#max) return undefined
    const own = Buffer.allocUnsafeSlow(read.length)
    read.copy(own)
    this.#bytes += read.length
    return own
  }

  release (body: Buffer | undefined): void {
    if (body !== undefined) this.#bytes -= body.length
  }
}

/**
 * A regular file a cache checked (the static tree's resolution, a pull-through artifact), and
 * its bytes once read whole if it is small: itself the BodyMemo sendFile takes, so a warm
 * request allocates nothing for it.
 */
export class KeptFile implements BodyMemo {
  body: Buffer | undefined = undefined
  /**
   * Whether a descriptor opened for `path` was seen inside the roots, with `stat`'s device and
   * inode. Until then, the next open checks where it landed again, and no bytes are kept.
   */
  verified = false
  /** The budget the bytes count against; undefined once the cache let go of this file. */
  #bodies: KeptBodies | undefined
  /** The turn in which the kept bytes were last found to be the file's (see Turns). */
  #checked = -1

  constructor (readonly path: string, readonly stat: Stats, bodies: KeptBodies) {
    this.#bodies = bodies
  }

  /**
   * What sendFile may use of the bytes: sent without opening the file while the file at its
   * path is still the one first read (same device, inode, size, modification and change times:
   * one lstat), kept after a read from a descriptor checked to lie inside the roots. Undefined
   * for a file too large.
   */
  memo (): BodyMemo | undefined {
    if (this.stat.size > MAX_KEPT_BODY) return undefined
    if (this.body === undefined || this.#bodies === undefined) return this
    const turn = this.#bodies.turns.current()
    if (this.#checked === turn) return this
    if (sameFileSync(this.path, this.stat)) this.#checked = turn
    else this.#release()
    return this
  }

  keep (read: Buffer): void {
    if (!this.verified || this.body !== undefined || this.#bodies === undefined || read.length !== this.stat.size) return
    this.body = this.#bodies.copy(read)
  }

  /** The cache let go of this file: its bytes go back, and none are kept again. */
  drop (): void {
    this.#release()
    this.#bodies = undefined
  }

  #release (): void {
    this.#bodies?.release(this.body)
    this.body = undefined
  }
}
