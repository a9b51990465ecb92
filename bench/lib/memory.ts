/**
 * Peak resident set size of this process. On Linux the kernel keeps the high-water mark
 * (VmHWM) and lets a process reset it (clear_refs "5"), which catches spikes a sampler would
 * miss; elsewhere a 10 ms sampler stands in.
 */
import { readFileSync, writeFileSync } from 'node:fs'

export interface MemoryFigures { rss: number, peak: number, method: 'VmHWM' | 'sampled' }

function procStatusKiB (field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

function canResetHwm (): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return procStatusKiB('VmHWM') !== undefined
  } catch {
    return false
  }
}

export class PeakRss {
  readonly #kernel = canResetHwm()
  #sampledPeak = 0
  #timer: NodeJS.Timeout | undefined

  constructor () {
    if (!this.#kernel) {
      this.#timer = setInterval(() => { this.#sampledPeak = Math.max(this.#sampledPeak, process.memoryUsage.rss()) }, 10).unref()
    }
  }

  /** Starts a new measurement window at the current RSS. */
  reset (): MemoryFigures {
    if (this.#kernel) writeFileSync('/proc/self/clear_refs', '5')
    this.#sampledPeak = process.memoryUsage.rss()
    return this.read()
  }

  read (): MemoryFigures {
    const rss = process.memoryUsage.rss()
    if (this.#kernel) return { rss, peak: procStatusKiB('VmHWM') ?? rss, method: 'VmHWM' }
    this.#sampledPeak = Math.max(this.#sampledPeak, rss)
    return { rss, peak: this.#sampledPeak, method: 'sampled' }
  }

  stop (): void { clearInterval(this.#timer) }
}
