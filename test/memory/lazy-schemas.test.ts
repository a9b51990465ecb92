import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { rm } from 'node:fs/promises'
import type { ChildProcess } from 'node:child_process'
import { pulpMiddleware } from '../../lib'
import { startScript, stop } from '../support/processes'
import { tempDir } from '../support/pulp'
import { UpstreamServer } from '../support/upstream-server'
import { serveFile, testBytes } from '../support/upstream-faults'

/**
 * zod and the request schemas load on the first validation (lib/schemas/lazy.ts): a server
 * that serves, pulls through and takes uploads never loads them, which keeps several MB off
 * its memory (bench measure 7).
 */
describe('the schemas load on first use', () => {
  let dataDir: string
  let upstream: UpstreamServer
  let child: ChildProcess | undefined
  let base: string

  before(async () => {
    dataDir = await tempDir()
    upstream = await UpstreamServer.start()
    upstream.on('/files/a.bin', serveFile(testBytes(100_000)))
    const pulp = pulpMiddleware({ dataDir })
    try {
      await pulp.ready
      await pulp.repositories.create({ id: 'r' })
      await pulp.repositories.addContent('r', { relativePath: 'hello.txt', file: Buffer.from('hello\n') })
      await pulp.distributors.add('r', { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: 'r' } })
      const task = await pulp.tasks.wait((await pulp.publish('r', 'web')).taskId, { timeout: 60 })
      assert.equal(task.state, 'finished')
      await pulp.remotes.create({ name: 'up', url: upstream.url('files/') })
      await pulp.distributions.create({ name: 'cold', basePath: 'cold', remote: 'up' })
    } finally {
      await pulp.close()
    }
    const started = await startScript(path.join(__dirname, '..', 'support', 'schema-probe-server.ts'), [dataDir], {}, /port (\d+)/)
    child = started.child
    base = `http://127.0.0.1:${started.match[1]}`
  })
  after(async () => {
    if (child !== undefined) await stop(child)
    await upstream?.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  const zodLoaded = async (): Promise<boolean> => ((await (await fetch(`${base}/zod`)).json()) as { loaded: boolean }).loaded

  it('not for serving, a pull-through or an upload', async () => {
    const served = await fetch(`${base}/pulp/content/r/hello.txt`)
    assert.equal(await served.text(), 'hello\n')
    const pulled = await fetch(`${base}/pulp/content/cold/a.bin`)
    assert.equal(pulled.status, 200)
    assert.equal((await pulled.arrayBuffer()).byteLength, 100_000)
    const form = new FormData()
    form.append('file', new Blob(['bytes\n']), 'b.txt')
    const uploaded = await fetch(`${base}/pulp/api/v1/repositories/r/content`, { method: 'POST', body: form })
    assert.equal(uploaded.status, 201, await uploaded.text())
    assert.equal(await zodLoaded(), false)
  })

  it('on the first request body to validate, whose answer is unchanged', async () => {
    const res = await fetch(`${base}/pulp/api/v1/repositories`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '..' })
    })
    assert.equal(res.status, 400)
    const body = await res.json() as { error: { message: string } }
    assert.equal(body.error.message, '"id" may contain only letters, digits, "-", "_" and "." (and may not be "." or ".."): got ".."')
    assert.equal(await zodLoaded(), true)
  })
})
