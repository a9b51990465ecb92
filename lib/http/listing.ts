import { type Dirent } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import { prefersJson, type ContentResponse as Response } from './request'
import type { IncomingMessage as Request } from 'node:http'

/** Stats at most this many entries at once: a huge directory must not flood the threadpool. */
const STAT_CONCURRENCY = 32

export interface ListingEntry {
  name: string
  type: 'file' | 'directory'
  /** Bytes for a file, `null` for a directory. */
  size: number | null
  modified: Date
}

export interface ListingOptions {
  /** The path the client sees, decoded, with its trailing slash: "Index of <displayPath>". */
  displayPath: string
  /** The top of the tree has no parent link. */
  isRoot: boolean
  /** Whether a symlink's real target may be shown (the static tree's roots rule). */
  isAllowed: (realPath: string) => boolean
}

/**
 * The entries of `dir` (a real path), directories first then files, each sorted by name.
 * Symlinks are followed under the same rule as requests: a target outside the allowed
 * roots, dangling or looping is left out, as is anything that is neither file nor directory.
 */
export async function readListing (dir: string, isAllowed: (realPath: string) => boolean): Promise<ListingEntry[]> {
  const dirents = await readdir(dir, { withFileTypes: true })
  const found: Array<ListingEntry | undefined> = new Array(dirents.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < dirents.length) {
      const i = next++
      found[i] = await describe(dir, dirents[i], isAllowed)
    }
  }
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, dirents.length) }, worker))
  const entries = found.filter((e): e is ListingEntry => e !== undefined)
  return entries.sort((a, b) => {
    if (a.type !== b.type) return a.type === 'directory' ? -1 : 1
    // Code-point order: the same on every machine, whatever its locale.
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  })
}

async function describe (
  dir: string,
  dirent: Dirent,
  isAllowed: (realPath: string) => boolean
): Promise<ListingEntry | undefined> {
  if (!dirent.isSymbolicLink() && !dirent.isFile() && !dirent.isDirectory()) return undefined
  try {
    let target = path.join(dir, dirent.name)
    if (dirent.isSymbolicLink()) {
      target = await realpath(target)
      if (!isAllowed(target)) return undefined
    }
    const st = await stat(target)
    if (st.isDirectory()) return { name: dirent.name, type: 'directory', size: null, modified: st.mtime }
    if (st.isFile()) return { name: dirent.name, type: 'file', size: st.size, modified: st.mtime }
  } catch {
    // Dangling, a loop, or removed while listing: not an entry anyone can fetch.
  }
  return undefined
}

const HTML_ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'
})

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])
}

/** An HTML index page; hrefs are relative so the page works wherever the tree is mounted. */
export function renderHtmlListing (entries: readonly ListingEntry[], options: Pick<ListingOptions, 'displayPath' | 'isRoot'>): string {
  const title = `Index of ${escapeHtml(options.displayPath)}`
  const rows: string[] = []
  if (!options.isRoot) rows.push('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
  for (const entry of entries) {
    const slash = entry.type === 'directory' ? '/' : ''
    const href = encodeURIComponent(entry.name) + slash
    const modified = entry.modified.toISOString()
    rows.push(
      `<tr><td><a href="${href}">${escapeHtml(entry.name)}${slash}</a></td>` +
      `<td class="size">${entry.size === null ? '-' : String(entry.size)}</td>` +
      `<td><time datetime="${modified}">${modified}</time></td></tr>`
    )
  }
  return htmlPage(title, 'body{font-family:monospace}th,td{padding:0 1.5em 0 0;text-align:left}td.size{text-align:right}', [
    '<table>',
    '<thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>',
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>'
  ])
}

/** A whole HTML document: `title` (already escaped) as title and heading, then `body`. */
export function htmlPage (title: string, style: string, body: readonly string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    `<h1>${title}</h1>`,
    ...body,
    '</body>',
    '</html>',
    ''
  ].join('\n')
}

/** The JSON form: `{ path, entries: [{ name, type, size, modified }] }`. */
export function renderJsonListing (entries: readonly ListingEntry[], displayPath: string): string {
  return JSON.stringify({
    path: displayPath,
    entries: entries.map((e) => ({ name: e.name, type: e.type, size: e.size, modified: e.modified.toISOString() }))
  })
}

/** Answers a GET or HEAD for directory `dir` (a real path) with its listing, HTML or JSON. */
export async function sendListing (req: Request, res: Response, dir: string, options: ListingOptions): Promise<void> {
  sendEntries(req, res, await readListing(dir, options.isAllowed), options)
}

/** Answers a GET or HEAD with a listing of these entries, HTML or JSON. */
export function sendEntries (req: Request, res: Response, entries: readonly ListingEntry[], options: Pick<ListingOptions, 'displayPath' | 'isRoot'>): void {
  const json = prefersJson(req)
  sendGeneratedPage(req, res, json ? renderJsonListing(entries, options.displayPath) : renderHtmlListing(entries, options), json)
}

/** Sends a page made for this request (a listing, the landing page): JSON or HTML, no validator. */
export function sendGeneratedPage (req: Request, res: Response, body: string, json: boolean): void {
  res.writeHead(200, {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    // Such pages change with every publish and carry no validator.
    'cache-control': 'no-cache',
    vary: 'Accept',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'"
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}
