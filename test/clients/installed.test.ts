import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { CLIENTS, installed, type Client } from '../support/clients'

// In CI every real client must be there: a missing one would otherwise only show as skips.
describe('the real clients', () => {
  it('are all installed when CI=true', { skip: process.env.CI === 'true' ? false : 'only enforced with CI=true' }, () => {
    const missing = (Object.keys(CLIENTS) as Client[]).filter((b) => !installed(b))
    assert.deepEqual(missing, [], `install: apt-get install -y ${missing.map((b) => CLIENTS[b]).join(' ')}`)
    // pip comes as a module of python3, not as a program of its own.
    assert.doesNotThrow(() => execFileSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' }), 'python3 -m pip does not run (apt-get install -y python3-pip)')
  })
})
