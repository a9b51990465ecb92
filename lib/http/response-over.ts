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
  let fallback: NodeJS.Immediate | undefined
  const stop = (): void => {
    res.off('close', over)
    unwatchSocket()
    if (fallback !== undefined) clearImmediate(fallback)
  }
  const over = (): void => {
    stop()
    done()
  }
  res.once('close', over)
  const { socket } = res.req
  unwatchSocket = onSocketClose(socket, over)
  // A connection already destroyed (the client left while the caller awaited a file's open)
  // may have sent its 'close' before anyone listened: then nothing else would call `done`.
  // An immediate, not a tick, so a caller looping on this gives the event loop its turn.
  if (socket.destroyed) fallback = setImmediate(over)
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
