import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

/** A forward proxy on port 0 that tunnels CONNECT requests and logs them. */
export class TunnelProxy {
  readonly connects: Array<{ target: string, headers: IncomingHttpHeaders }> = []
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  port = 0

  private constructor () {
    this.#server = createServer((_req, res) => { res.writeHead(405).end() })
    this.#server.on('connect', (req, client: Socket) => {
      this.connects.push({ target: req.url ?? '', headers: req.headers })
      const [host, port] = (req.url ?? '').split(':')
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        upstream.pipe(client)
        client.pipe(upstream)
      })
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('error', () => { client.destroy(); upstream.destroy() })
        s.on('close', () => this.#sockets.delete(s))
      }
    })
  }

  static async start (): Promise<TunnelProxy> {
    const proxy = new TunnelProxy()
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve))
    proxy.port = (proxy.#server.address() as AddressInfo).port
    return proxy
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
