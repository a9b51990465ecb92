/**
 * Test bodies without holding them: a fixed 1 MiB pseudo-random pattern (the same in every
 * process) repeated, with a label in the first bytes so each body has its own digest.
 *
 * Two patterns: `text` (hex digits) for everything autocannon reads, since it appends every
 * response body to a string and decoding random binary as UTF-8 made it, not the server, the
 * bottleneck on 1 MiB files (~60 req/s against ~640 req/s for the same server with ASCII
 * bytes); `binary` for uploads, whose multipart parser scans the bytes for the boundary and
 * would be slowed by text made of the boundary's own characters, which real files are not.
 */
import { createHash } from 'node:crypto'

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

const PATTERN_SIZE = MiB
const LABEL_SIZE = 64

export type Pattern = 'text' | 'binary'

const patterns = new Map<Pattern, Buffer>()

/** Builds a pattern now (it takes ~20 ms), so the first timed request does not pay for it. */
export function patternBytes (kind: Pattern = 'text'): Buffer {
  const known = patterns.get(kind)
  if (known !== undefined) return known
  const out = Buffer.allocUnsafe(PATTERN_SIZE)
  if (kind === 'text') {
    for (let i = 0; i < PATTERN_SIZE / 64; i++) out.write(createHash('sha256').update(`pulp-bench-${i}`).digest('hex'), i * 64, 'latin1')
  } else {
    for (let i = 0; i < PATTERN_SIZE / 32; i++) createHash('sha256').update(`pulp-bench-${i}`).digest().copy(out, i * 32)
  }
  patterns.set(kind, out)
  return out
}

/** The chunks (at most 1 MiB each) of the body named `label` of `size` bytes. */
export function * bodyChunks (size: number, label: string, kind: Pattern = 'text'): Generator<Buffer> {
  const p = patternBytes(kind)
  const head = Buffer.alloc(LABEL_SIZE, 0x20)
  head.write(label.slice(0, LABEL_SIZE))
  let sent = 0
  while (sent < size) {
    const n = Math.min(PATTERN_SIZE, size - sent)
    if (sent === 0) {
      const first = Buffer.concat([head, p.subarray(LABEL_SIZE)])
      yield first.subarray(0, n)
    } else {
      yield n === PATTERN_SIZE ? p : p.subarray(0, n)
    }
    sent += n
  }
}

/** A whole body in memory, for small files. */
export function bodyBytes (size: number, label: string): Buffer {
  return Buffer.concat([...bodyChunks(size, label)])
}

export function formatBytes (n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`
  return `${n} B`
}
