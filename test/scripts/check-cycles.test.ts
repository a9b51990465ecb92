import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { execFileAsync } from '../support/processes'
import { tempDir } from '../support/pulp'

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'check-cycles.js')

/** Runs `use` on a fresh directory holding `files` (path -> source), removed afterwards. */
async function withTree (files: Record<string, string>, use: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    for (const [name, source] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
      await writeFile(path.join(dir, name), source)
    }
    await use(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function check (dir: string, ...flags: string[]): Promise<{ code: number, out: string }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [SCRIPT, ...flags, dir])
    return { code: 0, out: stdout }
  } catch (err: unknown) {
    const e = err as { code: number, stdout: string }
    return { code: e.code, out: e.stdout }
  }
}

describe('scripts/check-cycles.js', () => {
  it('fails on folders that import each other, naming the imports', async () => {
    await withTree({
      'core/a.ts': "import { b } from '../plugins/b'\nexport const a = b\n",
      'plugins/b.ts': "import {\n  c\n} from '../core/c'\nexport const b = c\n",
      'core/c.ts': 'export const c = 1\n',
      'errors.ts': 'export const e = 1\n'
    }, async (dir) => {
      const { code, out } = await check(dir)
      assert.equal(code, 1, out)
      assert.match(out, /^cycle: core\/ plugins\/$/m)
      assert.match(out, /core\/ -> plugins\/: .*core\/a\.ts -> '\.\.\/plugins\/b'/)
      assert.match(out, /plugins\/ -> core\/: .*plugins\/b\.ts -> '\.\.\/core\/c'/)
    })
  })

  it('passes a tree whose folders depend one way, and leaves type-only imports out with --runtime', async () => {
    await withTree({
      'core/a.ts': "import { b } from '../plugins/b'\n// import { x } from '../core/x' in a comment is no import\nexport const a = b\n",
      'plugins/b.ts': "import type { A } from '../core/types'\nimport { type B } from '../core/types'\nimport { e } from '../errors'\nexport const b: A | B = e\n",
      'core/types.ts': 'export type A = number\nexport type B = number\n',
      'errors.ts': 'export const e = 1\n'
    }, async (dir) => {
      const all = await check(dir)
      assert.equal(all.code, 1, 'a cycle through types is still one')
      const runtime = await check(dir, '--runtime')
      assert.equal(runtime.code, 0, runtime.out)
      assert.match(runtime.out, /no folder cycles/)
    })
  })
})
