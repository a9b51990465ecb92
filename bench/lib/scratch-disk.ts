/**
 * A file system of its own for a measure whose floor depends on the disk's history. On this
 * machine's ext4 without a journal, a file created within a minute or so of many deletions
 * costs far more (the allocator steps over every recently freed inode: `recently_deleted()` in
 * the kernel's ialloc.c), so `cp -r` of 10,000 files took 0.49-3.01 s depending on what ran
 * before. A fresh file system per case removes that history.
 *
 * Kinds (`--disk=`): `image` (default) a new ext4 image file on the same disk as the temp
 * directory, made with mkfs's defaults (a journal, as users' disks have) and mounted through a
 * loop device with direct I/O (no second page cache for the image file); `tmpfs` memory, no
 * disk at all; `tmp` the temp directory as it is (what the measure used before). `image` and
 * `tmpfs` need root and mount(8); without them the measure falls back to `tmp` and says so.
 */
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { alive } from './build'

export const DISK_KINDS = ['image', 'tmpfs', 'tmp'] as const
export type DiskKind = typeof DISK_KINDS[number]

export interface ScratchDisk {
  /** An empty directory on it. */
  dir: string
  kind: DiskKind
  /** Why it is not the kind asked for (a fallback), else undefined. */
  note: string | undefined
  /** Unmounts and removes it; safe to call more than once. */
  close: () => void
}

/** Mount points this module makes are named `<tmp>/pulp-bench-disk-<pid>-<random>`. */
const PREFIX = 'pulp-bench-disk-'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** Our mount points (and their loop devices) in /proc/mounts. */
function ourMounts (): Array<{ device: string, dir: string }> {
  let text: string
  try {
    text = readFileSync('/proc/mounts', 'utf8')
  } catch {
    return []
  }
  return text.split('\n').map((line) => line.split(' ')).filter((f) => f.length > 2 && path.basename(f[1]).startsWith(PREFIX))
    .map((f) => ({ device: f[0], dir: f[1] }))
}

function unmount (dir: string, device: string): void {
  try {
    sh('umount', [dir])
  } catch {
    // Still busy (a process that outlived its run): detached now, gone once it lets go.
    try { sh('umount', ['-l', dir]) } catch {}
  }
  if (device.startsWith('/dev/loop')) {
    try { sh('losetup', ['-d', device]) } catch {}
  }
}

/**
 * Removes what a run killed before its cleanup (SIGKILL after a timeout) left mounted: mount
 * points of ours whose process is gone.
 */
function sweepStale (): void {
  for (const m of ourMounts()) {
    const pid = Number(path.basename(m.dir).slice(PREFIX.length).split('-')[0])
    if (!Number.isInteger(pid) || alive(pid)) continue
    unmount(m.dir, m.device)
    try { rmSync(m.dir, { recursive: true, force: true }) } catch {}
    try { rmSync(`${m.dir}.img`, { force: true }) } catch {}
  }
}

function canMount (): string | undefined {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not root'
  try {
    sh('sh', ['-c', 'command -v mount && command -v umount && command -v losetup && command -v mkfs.ext4'])
  } catch {
    return 'mount, losetup or mkfs.ext4 missing'
  }
  return undefined
}

/**
 * The scratch disks of one measure. Every disk still mounted is unmounted by `closeAll()`, and
 * also when the process ends by exit, by signal or by bench/index.ts's `stop` message (sent to
 * a measure that overran its time).
 */
export class ScratchDisks {
  readonly #kind: DiskKind
  readonly #fallbackParent: string
  readonly #open = new Set<ScratchDisk>()
  readonly #onExit = (): void => { this.closeAll() }
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.closeAll()
    process.exit(128 + (os.constants.signals[signal] ?? 0))
  }
  readonly #onMessage = (m: unknown): void => {
    if ((m as { type?: string })?.type !== 'stop') return
    this.closeAll()
    process.exit(1)
  }

  /** Disks of `kind`; the temp directory `fallbackParent` holds them when none can be mounted. */
  constructor (kind: DiskKind, fallbackParent: string) {
    this.#kind = kind
    this.#fallbackParent = fallbackParent
  }

  closeAll (): void {
    for (const disk of [...this.#open]) disk.close()
  }

  #track (disk: ScratchDisk): void {
    if (this.#open.size === 0) {
      process.once('exit', this.#onExit)
      for (const signal of SIGNALS) process.once(signal, this.#onSignal)
      process.on('message', this.#onMessage)
    }
    this.#open.add(disk)
  }

  #untrack (disk: ScratchDisk): boolean {
    if (!this.#open.delete(disk)) return false
    if (this.#open.size === 0) {
      process.off('exit', this.#onExit)
      for (const signal of SIGNALS) process.off(signal, this.#onSignal)
      process.off('message', this.#onMessage)
    }
    return true
  }

  /**
   * A fresh, empty file system with room for `bytes`, or a new directory under the temp
   * directory when it cannot be made (with a note saying why).
   */
  async make (bytes: number): Promise<ScratchDisk> {
    const kind = this.#kind
    const fallback = async (note: string | undefined): Promise<ScratchDisk> => {
      const dir = await mkdtemp(path.join(this.#fallbackParent, 'disk-'))
      return { dir, kind: 'tmp', note, close: () => { rmSync(dir, { recursive: true, force: true }) } }
    }
    if (kind === 'tmp') return await fallback(undefined)
    const why = canMount()
    if (why !== undefined) return await fallback(`no fresh file system (${why}): the floor may swing with the disk's history`)
    sweepStale()
    const mountPoint = path.join(os.tmpdir(), `${PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}`)
    const image = `${mountPoint}.img`
    await mkdir(mountPoint)
    let device = ''
    let mounted = false
    const disk: ScratchDisk = {
      dir: path.join(mountPoint, 'd'),
      kind,
      note: undefined,
      close: () => {
        if (!this.#untrack(disk)) return
        if (mounted) unmount(mountPoint, device)
        else if (device.startsWith('/dev/loop')) try { sh('losetup', ['-d', device]) } catch {}
        rmSync(mountPoint, { recursive: true, force: true })
        rmSync(image, { force: true })
      }
    }
    this.#track(disk)
    try {
      // Room for the bytes plus the file system's own blocks and small files' slack.
      const size = Math.ceil((bytes * 1.25 + 256 * 1024 * 1024) / (1024 * 1024))
      if (kind === 'tmpfs') {
        sh('mount', ['-t', 'tmpfs', '-o', `size=${size}m`, 'tmpfs', mountPoint])
        device = 'tmpfs'
      } else {
        sh('truncate', ['-s', `${size}M`, image])
        // Inode tables and journal written now: left lazy, a kernel thread would write them
        // during the timed steps.
        sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image])
        device = sh('losetup', ['--find', '--show', '--direct-io=on', image]).trim()
        sh('mount', [device, mountPoint])
      }
      mounted = true
      mkdirSync(disk.dir)
      return disk
    } catch (err: unknown) {
      disk.close()
      return await fallback(`no fresh file system (${(err as Error).message.split('\n')[0]}): the floor may swing with the disk's history`)
    }
  }
}
