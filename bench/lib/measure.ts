/**
 * The frame of one measure script: flags, a temp directory removed afterwards, and the
 * delivery of its lines (to `bench/index.ts` over IPC, or printed when run on its own:
 * `npx tsx bench/static-tree.ts --quick`).
 */
import os from 'node:os'
import path from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { formatTable, type Line } from './report'
import { pin, type ChildOptions } from './child'
import { ensureBuilt } from './build'
import { DISK_KINDS, type DiskKind } from './scratch-disk'

export interface Flags {
  quick: boolean
  /** Tiny sizes and durations, only to prove the scripts work (the smoke test); implies quick. */
  smoke: boolean
  /** Pin servers to CPU 0 and load generators/clients to CPU 1 (Linux, two or more cores). */
  pin: boolean
  /** Directory for V8 CPU profiles of the servers under test. */
  profileDir: string | undefined
  /** Repetitions of each side (`--rounds=N`); undefined: each measure's default (see `roundsOf`). */
  rounds: number | undefined
  /**
   * Where a measure that writes many files puts them (`--disk=image|tmpfs|tmp`, see
   * scratch-disk.ts): a fresh ext4 image by default.
   */
  disk: DiskKind
}

export function parseFlags (argv: string[]): Flags {
  const value = (name: string): string | undefined => {
    const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
    if (hit === undefined) return undefined
    return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : ''
  }
  const smoke = value('smoke') !== undefined
  const quick = smoke || value('quick') !== undefined
  const rounds = value('rounds')
  const profile = value('profile')
  const disk = value('disk') ?? 'image'
  if (!DISK_KINDS.includes(disk as DiskKind)) throw new Error(`--disk=${disk}: one of ${DISK_KINDS.join(', ')}`)
  return {
    quick,
    smoke,
    pin: value('pin') !== undefined,
    profileDir: profile === undefined ? undefined : path.resolve(profile === '' ? 'bench/profiles' : profile),
    rounds: rounds === undefined || rounds === '' ? undefined : Math.max(1, Math.floor(Number(rounds)) || 1),
    disk: disk as DiskKind
  }
}

export interface MeasureContext extends Flags {
  /** A temp directory for this measure; removed when it ends. */
  tmp: string
  /** Options for a server under test. */
  server: () => ChildOptions
  /** Options for a load generator or client process. */
  client: () => ChildOptions
  log: (message: string) => void
}

/** The value for this run's mode. */
export function bySize<T> (ctx: Flags, values: { full: T, quick: T, smoke: T }): T {
  return ctx.smoke ? values.smoke : ctx.quick ? values.quick : values.full
}

/** How many rounds to run: `--rounds`, else 1 in quick mode, else `full`. */
export function roundsOf (ctx: Flags, full: number): number {
  return ctx.rounds ?? (ctx.quick ? 1 : full)
}

/** " (quick; full run: <full>)" when this run measures something smaller than the issue asks. */
export function smallerNote (ctx: Flags, full: string): string {
  return ctx.smoke ? ` (smoke; full run: ${full})` : ctx.quick ? ` (quick; full run: ${full})` : ''
}

/** Runs `body` as measure `number` and delivers its lines. */
export function runMeasure (number: number, title: string, body: (ctx: MeasureContext) => Promise<Line[]>): void {
  const flags = parseFlags(process.argv.slice(2))
  const main = async (): Promise<void> => {
    await ensureBuilt()
    const tmp = await mkdtemp(path.join(os.tmpdir(), `pulp-bench-${number}-`))
    const pinned = flags.pin && os.cpus().length >= 2
    // The measure process is a client too (it times requests itself).
    if (pinned) pin(process.pid, '1')
    const ctx: MeasureContext = {
      ...flags,
      tmp,
      server: () => ({ cpus: pinned ? '0' : undefined, cpuProfDir: flags.profileDir }),
      client: () => ({ cpus: pinned ? '1' : undefined }),
      log: (message) => { process.stderr.write(`  [${number}] ${message}\n`) }
    }
    const started = performance.now()
    try {
      // Every line is this measure's, whatever number its builder was given.
      const lines = (await body(ctx)).map((line) => ({ ...line, measure: number }))
      ctx.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      if (process.send !== undefined) {
        await new Promise<void>((resolve) => process.send?.({ type: 'lines', lines }, () => resolve()))
      } else {
        process.stdout.write(formatTable(lines) + '\n')
      }
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }
  main().then(() => process.exit(0), (err: unknown) => {
    // Kept short: a failed SQL statement can be megabytes long.
    const text = err instanceof Error ? err.stack ?? err.message : String(err)
    process.stderr.write(`measure ${number} (${title}) failed: ${text.length > 2000 ? `${text.slice(0, 2000)}...` : text}\n`)
    process.exit(1)
  })
}
