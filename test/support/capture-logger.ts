import type { Logger, LogLevel } from '../../lib/log/logger'

export interface LogCall {
  level: LogLevel
  args: unknown[]
  /** Every argument as JSON: what a logger would write. */
  line: string
}

/** A pino-shaped logger that keeps every call, for tests that read what reached it. */
export function captureLogger (): Logger & { calls: LogCall[] } {
  const calls: LogCall[] = []
  const method = (level: LogLevel) => (...args: unknown[]): void => {
    calls.push({ level, args, line: JSON.stringify(args) })
  }
  return { calls, error: method('error'), warn: method('warn'), info: method('info'), debug: method('debug') }
}
