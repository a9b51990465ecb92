import type { RemoteBinding, UpstreamDigest } from '../remote'
import { isFileName } from './names'

/** One file a project page lists (PEP 503 anchor or PEP 691 `files[]` entry). */
export interface DistFile {
  filename: string
  /** Absolute upstream URL, without its fragment. */
  url: string
  /** Algorithm -> hex, from the `#<algorithm>=<hex>` fragment or the JSON `hashes`. */
  hashes: Record<string, string>
  requiresPython?: string
  /** PEP 658 / 714: false when absent; true, or the hashes of the `<file>.metadata` file. */
  coreMetadata: boolean | Record<string, string>
  /** false, true, or the reason given. */
  yanked: boolean | string
  gpgSig?: boolean
  /** The upstream's own JSON entry, kept whole (but its URL) in the JSON form. */
  json?: Record<string, unknown>
}

export interface ProjectPage {
  files: DistFile[]
  /** The upstream's own JSON document, when it sent one: kept whole (but the files' URLs). */
  json?: Record<string, unknown>
}

const DIGEST_LENGTHS: ReadonlyArray<[UpstreamDigest['algorithm'], number]> = [['sha256', 64], ['sha512', 128], ['sha1', 40]]

/** The strongest digest we can check among a file's hashes (md5 and others are not checked). */
export function pickDigest (hashes: Record<string, string>): UpstreamDigest | undefined {
  for (const [algorithm, length] of DIGEST_LENGTHS) {
    const hex = hashes[algorithm]
    if (typeof hex === 'string' && hex.length === length && /^[0-9a-f]+$/i.test(hex)) return { algorithm, hex: hex.toLowerCase() }
  }
  return undefined
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities (text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return ENTITIES[name.toLowerCase()] ?? whole
  })
}

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function attributes (text: string): Map<string, string> {
  const found = new Map<string, string>()
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const name = m[1].toLowerCase()
    if (!found.has(name)) found.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''))
  }
  return found
}

/** `sha256=<hex>` (a fragment or a data attribute) as hashes; anything else gives none. */
function hashPair (text: string): Record<string, string> {
  const at = text.indexOf('=')
  return at > 0 ? { [text.slice(0, at).toLowerCase()]: text.slice(at + 1) } : {}
}

/** The file a link points at, or undefined for a link that is none (no file name, not http(s)). */
function fileOf (href: string, base: string): { url: string, filename: string, hashes: Record<string, string> } | undefined {
  let url: URL
  try {
    url = new URL(href, base)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  const hashes = url.hash.length > 1 ? hashPair(url.hash.slice(1)) : {}
  url.hash = ''
  let filename: string
  try {
    filename = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf('/') + 1))
  } catch {
    return undefined
  }
  return isFileName(filename) ? { url: url.href, filename, hashes } : undefined
}

/** A PEP 503 page: every anchor with a file link, its fragment and data attributes. */
export function parseHtmlPage (html: string, pageUrl: string): ProjectPage {
  const baseTag = /<base\b([^>]*)>/i.exec(html)
  const baseHref = baseTag === null ? undefined : attributes(baseTag[1]).get('href')
  let base = pageUrl
  try {
    if (baseHref !== undefined) base = new URL(baseHref, pageUrl).href
  } catch {}
  const files: DistFile[] = []
  const anchors = /<a\b([^>]*)>/gi
  for (let m = anchors.exec(html); m !== null; m = anchors.exec(html)) {
    const attrs = attributes(m[1])
    const href = attrs.get('href')
    const file = href === undefined ? undefined : fileOf(href, base)
    if (file === undefined) continue
    const core = attrs.get('data-core-metadata') ?? attrs.get('data-dist-info-metadata')
    const yanked = attrs.get('data-yanked')
    const gpg = attrs.get('data-gpg-sig')
    files.push({
      ...file,
      ...(attrs.has('data-requires-python') ? { requiresPython: attrs.get('data-requires-python') } : {}),
      coreMetadata: core === undefined || core === 'false' ? false : core === 'true' ? true : hashPair(core),
      yanked: yanked === undefined ? false : yanked === '' ? true : yanked,
      ...(gpg === undefined ? {} : { gpgSig: gpg === 'true' })
    })
  }
  return { files }
}

function stringMap (value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {}
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string')) as Record<string, string>
}

/** A PEP 691 JSON page; throws for a body that is no JSON object with a `files` array. */
export function parseJsonPage (text: string, pageUrl: string): ProjectPage {
  const doc = JSON.parse(text) as unknown
  if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { files?: unknown }).files)) {
    throw new Error('the JSON page has no "files" array (PEP 691)')
  }
  const files: DistFile[] = []
  for (const entry of (doc as { files: unknown[] }).files) {
    if (entry === null || typeof entry !== 'object') continue
    const e = entry as Record<string, unknown>
    if (typeof e.url !== 'string' || typeof e.filename !== 'string') continue
    const file = fileOf(e.url, pageUrl)
    if (file === undefined || !isFileName(e.filename)) continue
    const core = e['core-metadata'] ?? e['dist-info-metadata']
    files.push({
      url: file.url,
      filename: e.filename,
      hashes: { ...file.hashes, ...stringMap(e.hashes) },
      ...(typeof e['requires-python'] === 'string' ? { requiresPython: e['requires-python'] } : {}),
      coreMetadata: core === true ? true : core !== null && typeof core === 'object' ? stringMap(core) : false,
      yanked: typeof e.yanked === 'string' ? e.yanked : e.yanked === true,
      json: e
    })
  }
  return { files, json: doc as Record<string, unknown> }
}

/** The link a rewritten page gives a file: the sibling path under the distribution (relative, so any base path works). */
function linkOf (project: string, file: DistFile): string {
  return `../${encodeURIComponent(project)}/${encodeURIComponent(file.filename)}`
}

/** The paths a page's links now point at, bound to where the upstream keeps them. */
export function bindingsOf (project: string, page: ProjectPage): RemoteBinding[] {
  const bindings: RemoteBinding[] = []
  for (const file of page.files) {
    const relativePath = `${project}/${file.filename}`
    bindings.push({ relativePath, url: file.url, digest: pickDigest(file.hashes) })
    if (file.coreMetadata !== false) {
      const digest = file.coreMetadata === true ? undefined : pickDigest(file.coreMetadata)
      bindings.push({ relativePath: `${relativePath}.metadata`, url: `${file.url}.metadata`, digest })
    }
  }
  return bindings
}

function metadataValue (core: true | Record<string, string>): string {
  const digest = core === true ? undefined : pickDigest(core)
  return digest === undefined ? 'true' : `${digest.algorithm}=${digest.hex}`
}

/** PEP 503 HTML with the PEP 592 / 658 / 714 data attributes. */
export function renderHtmlPage (project: string, page: ProjectPage): string {
  const links = page.files.map((file) => {
    // PEP 503 gives one hash in the fragment: the one we check, else whichever the upstream gave.
    const digest = pickDigest(file.hashes)
    const [algorithm, hex] = digest === undefined ? Object.entries(file.hashes)[0] ?? [] : [digest.algorithm, digest.hex]
    let attrs = `href="${escapeHtml(linkOf(project, file) + (algorithm === undefined ? '' : `#${algorithm}=${hex}`))}"`
    if (file.requiresPython !== undefined) attrs += ` data-requires-python="${escapeHtml(file.requiresPython)}"`
    if (file.coreMetadata !== false) {
      const value = escapeHtml(metadataValue(file.coreMetadata))
      attrs += ` data-dist-info-metadata="${value}" data-core-metadata="${value}"`
    }
    if (file.yanked !== false) attrs += ` data-yanked="${file.yanked === true ? '' : escapeHtml(file.yanked)}"`
    if (file.gpgSig !== undefined) attrs += ` data-gpg-sig="${String(file.gpgSig)}"`
    return `    <a ${attrs}>${escapeHtml(file.filename)}</a><br />`
  })
  const title = `Links for ${escapeHtml(project)}`
  return [
    '<!DOCTYPE html>',
    '<html>',
    `  <head><meta name="pypi:repository-version" content="1.0"><title>${title}</title></head>`,
    '  <body>',
    `    <h1>${title}</h1>`,
    ...links,
    '  </body>',
    '</html>',
    ''
  ].join('\n')
}

/** PEP 691 JSON: the upstream's own document with each file's URL rewritten, or one built from an HTML page. */
export function renderJsonPage (project: string, page: ProjectPage): string {
  const files = page.files.map((file) => {
    if (file.json !== undefined) return { ...file.json, url: linkOf(project, file) }
    const entry: Record<string, unknown> = { filename: file.filename, url: linkOf(project, file), hashes: file.hashes }
    if (file.requiresPython !== undefined) entry['requires-python'] = file.requiresPython
    if (file.coreMetadata !== false) {
      const value = file.coreMetadata === true ? true : file.coreMetadata
      entry['core-metadata'] = value
      entry['dist-info-metadata'] = value
    }
    if (file.gpgSig !== undefined) entry['gpg-sig'] = file.gpgSig
    entry.yanked = file.yanked
    return entry
  })
  const doc = page.json === undefined ? { meta: { 'api-version': '1.0' }, name: project } : page.json
  return JSON.stringify({ ...doc, files })
}
