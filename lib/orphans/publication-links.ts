import path from 'node:path'
import { readdir, readlink } from 'node:fs/promises'

const ARTIFACT_TAIL = /(?:^|[/\\])([0-9a-f]{2})[/\\]([0-9a-f]{62})$/

/**
 * The artifacts that the trees under `publications/` link to: live, grace-period and
 * still-building publications alike (a building one is in `<id>.staging` there). Publications
 * record no manifest, so every tree is walked: one readdir per directory and one readlink per
 * link (bench: "orphan cleanup" says what it costs next to the unlinks).
 */
export async function linkedArtifacts (publicationsRoot: string): Promise<Set<string>> {
  const linked = new Set<string>()
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) {
        await walk(full)
      } else if (entry.isSymbolicLink()) {
        const target = await readlink(full).catch(() => '')
        const match = ARTIFACT_TAIL.exec(target)
        if (match !== null) linked.add(match[1] + match[2])
      }
    }
  }
  await walk(publicationsRoot)
  return linked
}
