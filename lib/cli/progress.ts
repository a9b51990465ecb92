import type * as CliProgress from 'cli-progress'
import type { Options, SingleBar } from 'cli-progress'

/**
 * A cli-progress bar in the classic shades. The library is loaded here, on the first bar: a
 * command whose output is not a terminal never draws one and need not load it (a command's
 * start-up counts in a second push of an unchanged tree, docs/performance.md measure 8).
 */
export function drawnBar (options: Options): SingleBar {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use (see above)
  const bars = require('cli-progress') as typeof CliProgress
  return new bars.SingleBar(options, bars.Presets.shades_classic)
}

export interface ProgressCounts {
  files: number
  totalFiles: number
  bytes: number
  totalBytes: number
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

/**
 * A progress bar on a terminal (files, bytes, rate, ETA), drawn by cli-progress on stderr;
 * nothing at all when stderr is not a terminal or the output is JSON, so logs and pipes get
 * only the command's result.
 */
export class TransferBar {
  readonly #bar: SingleBar | undefined
  readonly #counts: ProgressCounts = { files: 0, totalFiles: 0, bytes: 0, totalBytes: 0 }
  #label = ''
  #started = 0

  constructor (enabled: boolean) {
    this.#bar = enabled
      ? drawnBar({
        format: '{label} {bar} {percentage}% | {files}/{totalFiles} files | {done}/{size} | {rate}/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
        fps: 8
      })
      : undefined
  }

  /** Starts (or restarts, for the next phase) the bar at zero. */
  start (label: string, totalFiles: number, totalBytes: number): void {
    Object.assign(this.#counts, { files: 0, totalFiles, bytes: 0, totalBytes })
    this.#label = label
    this.#started = Date.now()
    this.#bar?.start(Math.max(totalBytes, 1), 0, this.#payload())
  }

  addBytes (n: number): void {
    this.#counts.bytes += n
    this.#bar?.update(this.#counts.bytes, this.#payload())
  }

  addFiles (n: number): void {
    this.#counts.files += n
    this.#bar?.update(this.#counts.bytes, this.#payload())
  }

  stop (): void {
    this.#bar?.stop()
  }

  #payload (): Record<string, string | number> {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 0.001)
    return {
      label: this.#label,
      files: this.#counts.files,
      totalFiles: this.#counts.totalFiles,
      done: formatBytes(this.#counts.bytes),
      size: formatBytes(this.#counts.totalBytes),
      rate: formatBytes(Math.round(this.#counts.bytes / seconds))
    }
  }
}
