import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * The responses waiting on each connection's 'close': one listener per connection, however many
 * pipelined responses are queued on it (a listener each would trip Node's leak warning at 11).
 */
const waiting = new WeakMap<Socket, Set<() => void>>()

function onSocketClose (socket: Socket, callback: () => void): () => void {
  let callbacks = waiting.get(socket)
  if (callbacks === undefined) {
    const set = callbacks = new Set()
    waiting.set(socket, set)
    socket.once('close', () => {
      waiting.delete(socket)
      for (const call of [...set]) call()
    })
  }
  callbacks.add(callback)
  return () => { waiting.get(socket)?.delete(callback) }
}

/**
 * Calls `done` once the response is over: sent, or its connection gone. A pipelined response
 * still queued behind an earlier one gets no 'close' of its own when the connection drops,
 * so the connection's 'close' counts too. Returns a function that stops listening.
 */
export function whenOver (res: ServerResponse, done: () => void): () => void {
  let unwatchSocket = (): void => {}
  const stop = (): void => {
    res.off('close', over)
    unwatchSocket()
  }
  const over = (): void => {
    stop()
    done()
  }
  res.once('close', over)
  unwatchSocket = onSocketClose(res.req.socket, over)
  return stop
}

/** Resolves when `res` can take more, or is over. */
export async function drained (res: ServerResponse): Promise<void> {
  if (res.destroyed || !res.writableNeedDrain) return
  await new Promise<void>((resolve) => {
    const onDrain = (): void => {
      stop()
      resolve()
    }
    const stop = whenOver(res, () => {
      res.off('drain', onDrain)
      resolve()
    })
    res.once('drain', onDrain)
  })
}
