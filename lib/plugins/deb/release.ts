/**
 * apt's `Release` and `InRelease` files, read only as far as a mirror needs: the fields, the
 * SHA256 list of the index files and whether the upstream keeps `by-hash` copies.
 *
 * The format is deb822 (Debian Policy 5.1): `Field: value` lines, continuation lines start
 * with a space or a tab, field names are case-insensitive. `InRelease` is the same text
 * clearsigned (RFC 4880 7): armor header, dash-escaped text, signature. MD5Sum and SHA1 are
 * ignored: apt itself trusts only SHA256 and up for index files since 1.2.
 */

/** One index file a Release lists, by its path relative to the Release's directory. */
export interface ReleaseEntry {
  readonly sha256: string
  readonly size: number
}

export interface AptRelease {
  /** Single-line field values by lower-case name (`suite`, `codename`, `date`, ...). */
  readonly fields: ReadonlyMap<string, string>
  /** The SHA256 list; empty for a Release that has none. */
  readonly sha256: ReadonlyMap<string, ReleaseEntry>
  /** `Acquire-By-Hash: yes`: the upstream keeps `<dir>/by-hash/SHA256/<hex>` for each index. */
  readonly acquireByHash: boolean
}

const SIGNED_BEGIN = '-----BEGIN PGP SIGNED MESSAGE-----'
const SIGNATURE_BEGIN = '-----BEGIN PGP SIGNATURE-----'
const HEX64 = /^[0-9a-f]{64}$/
// apt's StringToBool: what it reads as true in Acquire-By-Hash.
const TRUE_WORDS = new Set(['yes', 'true', 'with', 'on', 'enable', '1'])

/**
 * The signed text of a clearsigned message, dash-escaping undone; a text that is not
 * clearsigned is returned as it is. Null for a clearsigned message cut before its signature:
 * a truncated InRelease must not be read as a shorter list.
 */
export function clearsignedText (text: string): string | null {
  const lines = text.split(/\r?\n/)
  let i = 0
  while (i < lines.length && lines[i].trim() === '') i++
  if (lines[i] !== SIGNED_BEGIN) return text
  // Armor headers (`Hash: SHA512`) run to the first empty line.
  i++
  while (i < lines.length && lines[i] !== '') i++
  const body: string[] = []
  for (i++; i < lines.length; i++) {
    const line = lines[i]
    if (line === SIGNATURE_BEGIN) return body.join('\n') + '\n'
    body.push(line.startsWith('- ') ? line.slice(2) : line)
  }
  return null
}

/** The first paragraph's fields: name (lower case) to raw value, continuation lines kept. */
function fieldsOf (text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (fields.size > 0) break
      continue
    }
    if (line.startsWith('#')) continue
    if (line[0] === ' ' || line[0] === '\t') {
      current?.push(line.trim())
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) { current = undefined; continue }
    current = [line.slice(colon + 1).trim()]
    fields.set(line.slice(0, colon).trim().toLowerCase(), current)
  }
  return fields
}

function sha256List (lines: readonly string[] | undefined): Map<string, ReleaseEntry> {
  const entries = new Map<string, ReleaseEntry>()
  for (const line of (lines ?? []).slice(1)) {
    const [hex, size, ...rest] = line.split(/\s+/)
    const file = rest.join(' ')
    // A malformed line names nothing we could check; apt skips such lines too.
    if (!HEX64.test(hex?.toLowerCase() ?? '') || !/^\d+$/.test(size ?? '') || file === '') continue
    entries.set(file, { sha256: hex.toLowerCase(), size: Number(size) })
  }
  return entries
}

/**
 * Reads a `Release` or `InRelease` body. Null when it is not one: a clearsigned message
 * without its signature, or text with no field at all.
 */
export function parseRelease (body: Buffer | string): AptRelease | null {
  const text = clearsignedText(typeof body === 'string' ? body : body.toString('utf8'))
  if (text === null) return null
  const raw = fieldsOf(text)
  if (raw.size === 0) return null
  const fields = new Map<string, string>()
  for (const [name, lines] of raw) if (lines[0] !== '') fields.set(name, lines[0])
  return {
    fields,
    sha256: sha256List(raw.get('sha256')),
    acquireByHash: TRUE_WORDS.has((fields.get('acquire-by-hash') ?? '').toLowerCase())
  }
}
