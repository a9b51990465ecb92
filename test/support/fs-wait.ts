import { readdir } from 'node:fs/promises'

/** Polls `check` until it returns true or `ms` pass; for effects that finish after a response. */
export async function eventually (check: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Every file below `dir`, as paths relative to it. */
export async function filesBelow (dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((e) => !e.isDirectory()).map((e) => `${e.parentPath ?? dir}/${e.name}`.slice(dir.length + 1)).sort()
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}
