import path from 'node:path'
import { readFile } from 'node:fs/promises'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Knex } from 'knex'
import { sha256 } from './upstream-pulp'

/** Where the store keeps the artifact with this digest. */
export function artifactPath (dataDir: string, digest: string): string {
  return path.join(dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2))
}

export interface ArtifactWatch {
  /** Stops watching (after one last look) and tells how often the file was absent and whole. */
  stop: () => Promise<{ absent: number, whole: number }>
}

/**
 * Reads `file` over and over while writers race to create it: every read must find either no
 * file or exactly `bytes`. Anything else (a partial or foreign file) fails `stop()`.
 */
export function watchArtifact (file: string, bytes: Buffer): ArtifactWatch {
  const expected = sha256(bytes)
  const seen = { absent: 0, whole: 0 }
  let running = true
  const look = async (): Promise<void> => {
    try {
      const got = await readFile(file)
      if (sha256(got) !== expected) throw new Error(`a reader saw ${got.length} bytes at ${file} that are not the artifact`)
      seen.whole++
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      seen.absent++
    }
  }
  const loop = (async () => {
    while (running) {
      await look()
      await yieldToLoop()
    }
  })()
  loop.catch(() => {})
  return {
    stop: async () => {
      running = false
      await loop
      await look()
      return seen
    }
  }
}

/** Rows of `table` matching `where`, on the test's own connection. */
export async function countRows (knex: Knex, table: string, where: Record<string, string> = {}): Promise<number> {
  const [{ n }] = await knex(table).where(where).count({ n: '*' }) as Array<{ n: number | string }>
  return Number(n)
}

/** Uploads `bytes` as `relativePath` into a repository through an instance's REST API. */
export async function upload (url: string, bytes: Buffer, relativePath: string): Promise<{ status: number, body: unknown }> {
  const form = new FormData()
  form.append('file', new Blob([bytes]), path.basename(relativePath))
  form.append('relative_path', relativePath)
  const res = await fetch(url, { method: 'POST', body: form })
  return { status: res.status, body: await res.json() as unknown }
}
