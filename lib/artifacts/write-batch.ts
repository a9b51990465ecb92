import type { FileCall } from './file-calls'

export type WriteCall = Extract<FileCall, { op: 'write' }>

/** A batch goes at once, without waiting for the one in flight, past this many bytes. */
const MAX_BYTES = 4 * 1024 * 1024

interface Queued { call: WriteCall, resolve: () => void, reject: (err: Error) => void }

/**
 * Gathers small files' writes into one message to the hashing worker. One message per file
 * was a tenth of the server's time in a push of 10,000 small files (posting it, and waking
 * the worker for each: bench/push.ts, docs/performance.md measure 8). The writes asked for in
 * one turn of the event loop (the parts of one socket read) go together, and while a batch is
 * being written the next one gathers, so the worker is sent as many as it can take.
 */
export class WriteBatches {
  /** Makes the calls in order; answers each call's error, or undefined where it was made. */
  readonly #send: (calls: WriteCall[]) => Promise<Array<Error | undefined>>
  #queued: Queued[] = []
  #bytes = 0
  #inFlight = 0
  #scheduled = false

  constructor (send: (calls: WriteCall[]) => Promise<Array<Error | undefined>>) {
    this.#send = send
  }

  /** Settles once this file is written (or could not be). */
  async add (call: WriteCall): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#queued.push({ call, resolve, reject })
      this.#bytes += call.bytes.length
      if (this.#bytes >= MAX_BYTES) this.flush()
      else if (this.#inFlight === 0 && !this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => {
          this.#scheduled = false
          if (this.#inFlight === 0) this.flush()
        })
      }
    })
  }

  /** Sends what is gathered now (another call must not overtake the writes asked for before it). */
  flush (): void {
    if (this.#queued.length === 0) return
    const batch = this.#queued
    this.#queued = []
    this.#bytes = 0
    this.#inFlight++
    this.#send(batch.map((q) => q.call)).then((errors) => {
      for (const [i, q] of batch.entries()) {
        const err = errors[i]
        if (err === undefined) q.resolve()
        else q.reject(err)
      }
    }, (err: unknown) => {
      for (const q of batch) q.reject(err as Error)
    }).finally(() => {
      if (--this.#inFlight === 0) this.flush()
    }).catch(() => {})
  }
}
