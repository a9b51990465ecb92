import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { execFileAsync } from '../support/processes'
import { tempDir } from '../support/pulp'

const ROOT = path.join(__dirname, '..', '..')
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
const RUNTIME = path.join(ROOT, '.dependency-cruiser.cjs')
const WITH_TYPES = path.join(ROOT, '.dependency-cruiser-types.cjs')

/** Runs `use` on a fresh directory holding `files` (path -> source) under lib/, removed afterwards. */
async function withTree (files: Record<string, string>, use: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    for (const [name, source] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, 'lib', name)), { recursive: true })
      await writeFile(path.join(dir, 'lib', name), source)
    }
    await use(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** `depcruise --config <config> lib` in `dir`, as `npm run check:cycles` runs it. */
async function check (dir: string, config: string): Promise<{ code: number, out: string }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [DEPCRUISE, '--no-progress', '--config', config, 'lib'], { cwd: dir })
    return { code: 0, out: stdout }
  } catch (err: unknown) {
    const e = err as { code: number, stdout: string }
    return { code: e.code, out: e.stdout }
  }
}

describe('the folder cycle check (.dependency-cruiser.cjs)', () => {
  it('fails on folders that import each other, naming both', async () => {
    await withTree({
      'core/a.ts': "import { b } from '../plugins/b'\nexport const a = b\n",
      'plugins/b.ts': "import {\n  c\n} from '../core/c'\nexport const b = c\n",
      'core/c.ts': 'export const c = 1\n',
      'errors.ts': 'export const e = 1\n'
    }, async (dir) => {
      const { code, out } = await check(dir, RUNTIME)
      assert.notEqual(code, 0, out)
      assert.match(out, /no-folder-cycle: lib\/core →\s+lib\/plugins →\s+lib\/core/)
    })
  })

  it('passes folders that depend one way; a cycle through type imports only warns', async () => {
    await withTree({
      'core/a.ts': "import { b } from '../plugins/b'\n// import { x } from '../core/x' in a comment is no import\nexport const a = b\n",
      'plugins/b.ts': "import type { A } from '../core/types'\nimport { type B } from '../core/types'\nimport { e } from '../errors'\nexport const b: A | B = e\n",
      'core/types.ts': 'export type A = number\nexport type B = number\n',
      'errors.ts': 'export const e = 1\n'
    }, async (dir) => {
      const runtime = await check(dir, RUNTIME)
      assert.equal(runtime.code, 0, runtime.out)
      assert.match(runtime.out, /no dependency violations/)
      const withTypes = await check(dir, WITH_TYPES)
      assert.equal(withTypes.code, 0, 'a cycle through types does not fail the run yet')
      assert.match(withTypes.out, /warn no-folder-cycle-with-types: lib\/core →\s+lib\/plugins →\s+lib\/core/)
    })
  })
})
