import type { ServerResponse } from 'node:http'

/**
 * Calls `done` once the response is over: sent, or its connection gone. A pipelined response
 * still queued behind an earlier one gets no 'close' of its own when the connection drops,
 * so the connection's 'close' counts too. Returns a function that stops listening.
 */
export function whenOver (res: ServerResponse, done: () => void): () => void {
  const socket = res.req.socket
  const stop = (): void => {
    res.off('close', over)
    socket.off('close', over)
  }
  const over = (): void => {
    stop()
    done()
  }
  res.once('close', over)
  socket.once('close', over)
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
