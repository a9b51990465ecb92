import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { existsSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { execFileAsync } from '../support/processes'
import { tempDir } from '../support/pulp'

const root = path.join(__dirname, '..', '..')
const built = existsSync(path.join(root, 'dist', 'artifacts', 'file-hasher.js'))
const skip = built ? false : 'dist/ is not built: run `npm run build` (npm test does it first)'

describe('the built hashing worker', { skip }, () => {
  it('hashes in its own thread from dist/, under plain node', async () => {
    const dir = await tempDir()
    try {
      const file = path.join(dir, 'body')
      const body = randomBytes(3 * 1024 * 1024 + 5)
      await writeFile(file, body)
      const script = `
        const { FileHasher } = require(${JSON.stringify(path.join(root, 'dist', 'artifacts', 'file-hasher.js'))})
        const hasher = new FileHasher()
        hasher.follow(process.argv[1]).digest(Number(process.argv[2])).then(async (sha256) => {
          console.log(sha256, hasher.running)
          await hasher.close()
        })`
      const { stdout } = await execFileAsync(process.execPath, ['-e', script, file, String(body.length)], { cwd: dir })
      assert.equal(stdout.trim(), `${createHash('sha256').update(body).digest('hex')} true`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
