import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { existsSync } from 'node:fs'
import { execFileAsync } from '../support/processes'

const root = path.join(__dirname, '..', '..')
const built = existsSync(path.join(root, 'dist', 'index.js')) && existsSync(path.join(root, 'dist', 'index.mjs'))
const skip = built ? false : 'dist/ is not built: run `npm run build` (npm test does it first)'

describe('the published package', { skip }, () => {
  it('loads with require() and exposes the factory and classes', async () => {
    const { stdout } = await execFileAsync(process.execPath, ['-e',
      "const p = require('pulp-middleware'); console.log(typeof p.pulpMiddleware, typeof p.PulpError, typeof p.ValidationError)"], { cwd: root })
    assert.equal(stdout.trim(), 'function function function')
  })

  it('loads with import and shares one copy with require()', async () => {
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e',
      "import { pulpMiddleware, PulpError } from 'pulp-middleware'; import { createRequire } from 'node:module'; const r = createRequire(import.meta.url)('pulp-middleware'); console.log(typeof pulpMiddleware, r.PulpError === PulpError)"], { cwd: root })
    assert.equal(stdout.trim(), 'function true')
  })

  it('ships type declarations for the entry point', () => {
    assert.ok(existsSync(path.join(root, 'dist', 'index.d.ts')))
    assert.ok(existsSync(path.join(root, 'dist', 'index.d.mts')))
  })
})
