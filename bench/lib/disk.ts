import { execFileSync } from 'node:child_process'

/**
 * Writes back what earlier steps left in the page cache (`sync`), so a timed run does not pay
 * for the dirty pages of the set-up or of the run before it.
 */
export function settleDisk (): void {
  try {
    execFileSync('sync', { stdio: 'ignore' })
  } catch {}
}
