import { createHash } from 'node:crypto'
import type { UpstreamServer } from './upstream-server'

/**
 * An apt repository served by a real upstream server under `/<dir>`: `publish` switches it to
 * another generation at once (as an archive's mirror push does), paths missing from the
 * current one answer 404. Answers carry an ETag and honour If-None-Match, so a revalidation
 * of an unchanged file is a 304.
 */
export class AptUpstream {
  #files: Readonly<Record<string, Buffer>> = {}
  readonly #routed = new Set<string>()

  constructor (readonly server: UpstreamServer, readonly dir = 'repo') {}

  /** The remote's `url`. */
  url (): string {
    return this.server.url(`${this.dir}/`)
  }

  /** The upstream path of a repository file, as the server's log has it. */
  path (relativePath: string): string {
    return `/${this.dir}/${relativePath}`
  }

  /** Requests that reached the upstream for `relativePath`. */
  hits (relativePath: string): number {
    return this.server.hits(this.path(relativePath), 'GET')
  }

  /** Serves these files from now on (keyed by path relative to the repository root). */
  publish (files: Readonly<Record<string, Buffer>>): void {
    this.#files = { ...files }
    for (const rel of Object.keys(files)) {
      if (this.#routed.has(rel)) continue
      this.#routed.add(rel)
      this.server.on(this.path(rel), (req, res) => {
        const body = this.#files[rel]
        if (body === undefined) {
          res.writeHead(404, { 'content-type': 'text/plain' })
          return void res.end('not in this generation\n')
        }
        const etag = `"${createHash('sha256').update(body).digest('hex')}"`
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end()
        res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream', etag })
        res.end(req.method === 'HEAD' ? undefined : body)
      })
    }
  }
}
