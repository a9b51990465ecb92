import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { rm } from 'node:fs/promises'
import { tempDir } from '../support/pulp'
import { startScript, stop } from '../support/processes'
import { eventually } from '../support/fs-wait'

const example = path.join(__dirname, '..', '..', 'examples', 'pull-through.ts')

describe('examples/pull-through.ts', () => {
  it('mirrors its stand-in upstream: MISS, then HIT', { timeout: 60_000 }, async () => {
    const dir = await tempDir()
    const { child, match } = await startScript(example, [], { PORT: '0', PULP_DATA_DIR: dir }, /listening on (http:\/\/\S+)/)
    try {
      const base = match[1]
      const miss = await fetch(`${base}hello.txt`)
      assert.equal(miss.status, 200)
      assert.equal(miss.headers.get('x-pulp-cache'), 'MISS')
      assert.equal(await miss.text(), 'hello from the upstream\n')
      let cache: string | null = null
      await eventually(async () => {
        const again = await fetch(`${base}hello.txt`)
        cache = again.headers.get('x-pulp-cache')
        assert.equal(await again.text(), 'hello from the upstream\n')
        return cache === 'HIT'
      }, 5000, 'a HIT')
      assert.equal((await fetch(`${base}nope.txt`)).status, 404)
    } finally {
      assert.equal(await stop(child), 0)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
