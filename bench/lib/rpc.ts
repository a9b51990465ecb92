/**
 * A tiny request/answer protocol over a child process's IPC channel, so the measure that
 * started a server can ask it for its memory figures or tell it to stop, without HTTP
 * traffic that would show up in the figures.
 */
import type { ChildProcess } from 'node:child_process'

export interface RpcRequest { rpc: number, method: string, params?: unknown }
export interface RpcAnswer { rpc: number, result?: unknown, error?: string }

export type RpcHandlers = Record<string, (params: unknown) => unknown>

/** In a child: answers the parent's calls with `handlers`. */
export function serveRpc (handlers: RpcHandlers): void {
  process.on('message', (message: unknown) => {
    const req = message as Partial<RpcRequest>
    if (typeof req?.rpc !== 'number' || typeof req.method !== 'string') return
    const id = req.rpc
    const handler = handlers[req.method]
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`no method ${req.method}`)
        const result = await handler(req.params)
        process.send?.({ rpc: id, result } satisfies RpcAnswer)
      } catch (err: unknown) {
        process.send?.({ rpc: id, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies RpcAnswer)
      }
    })()
  })
}

/** In the parent: calls `method` in the child and waits for its answer (bounded). */
export class RpcClient {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  #next = 1

  constructor (child: ChildProcess) {
    this.#child = child
    child.on('message', (message: unknown) => {
      const answer = message as Partial<RpcAnswer>
      if (typeof answer?.rpc !== 'number') return
      const waiting = this.#pending.get(answer.rpc)
      if (waiting === undefined) return
      this.#pending.delete(answer.rpc)
      clearTimeout(waiting.timer)
      if (answer.error !== undefined) waiting.reject(new Error(answer.error))
      else waiting.resolve(answer.result)
    })
    child.once('exit', (code, signal) => {
      for (const waiting of this.#pending.values()) {
        clearTimeout(waiting.timer)
        waiting.reject(new Error(`the child exited (${code ?? signal ?? '?'}) before answering`))
      }
      this.#pending.clear()
    })
  }

  async call<T> (method: string, params?: unknown, timeoutMs = 120_000): Promise<T> {
    const rpc = this.#next++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rpc)
        reject(new Error(`${method} got no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.#child.send({ rpc, method, params } satisfies RpcRequest)
    })
  }
}
