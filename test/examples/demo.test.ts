import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { rm, stat } from 'node:fs/promises'
import { tempDir } from '../support/pulp'
import { execFileAsync, startScript, stop } from '../support/processes'

const demo = path.join(__dirname, '..', '..', 'examples', 'demo.ts')

describe('examples/demo.ts (npm start)', () => {
  it('serves the API on SQLite, takes an upload with curl and lists it', { timeout: 60_000 }, async () => {
    const dir = await tempDir()
    const { child, match } = await startScript(demo, [], { PORT: '0', PULP_DATA_DIR: dir }, /listening on (http:\/\/\S+)/)
    try {
      const base = match[1]
      const created = await execFileAsync('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"id":"demo"}', `${base}/api/v1/repositories`])
      assert.equal(JSON.parse(created.stdout).id, 'demo')
      const uploaded = await execFileAsync('curl', ['-sS', '-F', `file=@${demo}`, `${base}/api/v1/repositories/demo/content`])
      assert.equal(JSON.parse(uploaded.stdout).units[0].relative_path, 'demo.ts')
      const listed = await execFileAsync('curl', ['-sS', `${base}/api/v1/repositories/demo/content`])
      assert.equal(JSON.parse(listed.stdout).count, 1)
      assert.ok((await stat(path.join(dir, 'pulp.sqlite'))).isFile(), 'the demo uses the embedded SQLite default')
    } finally {
      assert.equal(await stop(child), 0)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
