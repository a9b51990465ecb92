import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface LoggedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

/**
 * A real upstream on 127.0.0.1, port 0: each path has a handler (see upstream-faults.ts),
 * every request is logged so tests can count fetches and read the headers that arrived.
 */
export class UpstreamServer {
  readonly log: LoggedRequest[] = []
  readonly #routes = new Map<string, UpstreamHandler>()
  readonly #sockets = new Set<Socket>()
  readonly #server: Server
  port = 0

  private constructor () {
    this.#server = createServer((req, res) => { void this.#handle(req, res) })
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  static async start (): Promise<UpstreamServer> {
    const upstream = new UpstreamServer()
    await new Promise<void>((resolve) => upstream.#server.listen(0, '127.0.0.1', resolve))
    upstream.port = (upstream.#server.address() as AddressInfo).port
    return upstream
  }

  /** The URL of a directory of this server, for a remote's `url`. */
  url (dir = ''): string {
    return `http://127.0.0.1:${this.port}/${dir}`
  }

  /** Answers `path` (e.g. `/files/a.txt`) with `handler`. */
  on (path: string, handler: UpstreamHandler): this {
    this.#routes.set(path, handler)
    return this
  }

  /** How many requests for `path` arrived (GET and HEAD unless `method` narrows it). */
  hits (path: string, method?: string): number {
    return this.log.filter((r) => r.path === path && (method === undefined || r.method === method)).length
  }

  requestsFor (path: string): LoggedRequest[] {
    return this.log.filter((r) => r.path === path)
  }

  async close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    this.log.push({ method: req.method ?? 'GET', path, headers: req.headers })
    const handler = this.#routes.get(path)
    try {
      if (handler === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' })
        res.end('not here\n')
        return
      }
      await handler(req, res)
    } catch {
      res.destroy()
    }
  }
}
