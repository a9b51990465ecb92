import { gzipSync } from 'node:zlib'

const BLOCK = 512

/** An octal field of `width` bytes: digits, then NUL, as tar wants them. */
function octal (value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

/** One ustar header block for a regular file. */
function header (name: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(name, 0, 100)
  block.write(octal(0o644, 8), 100)
  block.write(octal(0, 8), 108)
  block.write(octal(0, 8), 116)
  block.write(octal(size, 12), 124)
  // 1985-10-26, the date npm pack gives every entry, so a tarball depends on its files only.
  block.write(octal(499162500, 12), 136)
  block.write('0', 156)
  block.write('ustar\0', 257)
  block.write('00', 263)
  // The checksum is summed with its own field as spaces.
  block.write(' '.repeat(8), 148)
  let sum = 0
  for (const byte of block) sum += byte
  block.write(octal(sum, 7) + ' ', 148)
  return block
}

/**
 * A gzipped tar of `files` below `package/`, as npm publishes a package: what `npm pack`
 * makes, built here so that a fixture needs no npm and no network.
 */
export function packTarball (files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = []
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content)
    parts.push(header(`package/${name}`, data.length), data, Buffer.alloc((BLOCK - data.length % BLOCK) % BLOCK))
  }
  parts.push(Buffer.alloc(2 * BLOCK))
  return gzipSync(Buffer.concat(parts))
}
