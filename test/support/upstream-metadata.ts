import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { UpstreamHandler } from './upstream-server'

/** How a changing upstream file answers at the moment. */
export type MetadataMode =
  | { kind: 'ok' }
  | { kind: 'status', code: number }
  /** Accepts the request and never answers it. */
  | { kind: 'stall' }
  /** Closes the connection without an answer. */
  | { kind: 'reset' }

/**
 * An upstream index file that changes at run time, with strong validators: a conditional GET
 * whose `If-None-Match` (or `If-Modified-Since`) matches gets 304. Counts what it answered.
 */
export class ChangingFile {
  body: Buffer
  mode: MetadataMode = { kind: 'ok' }
  /** Wait before answering (ms), so that concurrent clients overlap. */
  delay = 0
  /** Answers by status (304 included). */
  readonly answered = new Map<number, number>()
  #modified = new Date(Date.UTC(2026, 0, 1))

  constructor (body: string | Buffer) {
    this.body = Buffer.from(body)
  }

  get etag (): string {
    return `"${createHash('sha256').update(this.body).digest('hex').slice(0, 16)}"`
  }

  /** A new generation of the file. */
  replace (body: string | Buffer): void {
    this.body = Buffer.from(body)
    this.#modified = new Date(this.#modified.getTime() + 60_000)
  }

  count (status: number): number {
    return this.answered.get(status) ?? 0
  }

  readonly handler: UpstreamHandler = async (req, res) => {
    if (this.delay > 0) await sleep(this.delay)
    const mode = this.mode
    if (mode.kind === 'reset') return void res.socket?.destroy()
    if (mode.kind === 'stall') return
    const answer = (status: number, headers: Record<string, string | number>, body?: Buffer): void => {
      this.answered.set(status, this.count(status) + 1)
      res.writeHead(status, headers)
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (mode.kind === 'status') return answer(mode.code, { 'content-type': 'text/plain' }, Buffer.from(`status ${mode.code}\n`))
    const validators = { etag: this.etag, 'last-modified': this.#modified.toUTCString() }
    const inm = req.headers['if-none-match']
    const ims = req.headers['if-modified-since']
    if (inm !== undefined ? inm === this.etag : ims !== undefined && Date.parse(ims) >= this.#modified.getTime()) {
      return answer(304, validators)
    }
    answer(200, { ...validators, 'content-type': 'text/plain; charset=utf-8', 'content-length': this.body.length }, this.body)
  }
}
