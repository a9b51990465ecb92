import createDebug, { type Debugger } from 'debug'
import { redactText, redactValue } from './redact'

/** A pino-style log method: `(fields, message)` or `(message)`. */
export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

/** What the `logger` option takes: pino, or anything with the same four methods. */
export interface Logger {
  error: LogFn
  warn: LogFn
  info: LogFn
  debug: LogFn
}

export type LogLevel = keyof Logger

export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['error', 'warn', 'info', 'debug'])

/** One part's log: `ns` names it (`pulp:api`), as its `debug` namespace does. */
export interface PartLog {
  error: (fields: Record<string, unknown>, msg: string) => void
  warn: (fields: Record<string, unknown>, msg: string) => void
  info: (fields: Record<string, unknown>, msg: string) => void
  debug: (fields: Record<string, unknown>, msg: string) => void
}

/**
 * The log of one middleware instance. Every line passes `redactValue` before it reaches the
 * host app's logger, or the part's `debug` namespace when there is none.
 */
export class PulpLog {
  readonly #logger: Logger | undefined
  readonly #namespaces = new Map<string, Debugger>()

  constructor (logger?: Logger) {
    this.#logger = logger
  }

  part (ns: string): PartLog {
    const write = (level: LogLevel) => (fields: Record<string, unknown>, msg: string): void => this.#write(level, ns, fields, msg)
    return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') }
  }

  #write (level: LogLevel, ns: string, fields: Record<string, unknown>, msg: string): void {
    const safe = redactValue({ ns, ...fields }) as Record<string, unknown>
    const text = redactText(msg)
    try {
      if (this.#logger !== undefined) {
        this.#logger[level](safe, text)
        return
      }
      let out = this.#namespaces.get(ns)
      if (out === undefined) {
        out = createDebug(ns)
        this.#namespaces.set(ns, out)
      }
      if (out.enabled) out('%s: %s %O', level, text, safe)
    } catch {
      // A logger that throws must never turn a served request or a task into a failure.
    }
  }
}
