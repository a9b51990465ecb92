import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { createServer, get, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { sendFile } from '../../lib/content/send-file'
import { rawRequest } from '../support/content-http'
import { makeFixture, patternBytes, type ContentFixture } from '../support/content-tree'

/**
 * sendFile on a bare node:http server, fed a stat that no longer matches the path: the
 * file was replaced by a directory after the caller looked, so reads fail with EISDIR.
 */
describe('sendFile when reading fails', () => {
  let fx: ContentFixture
  let server: Server
  let port: number
  const outcomes: string[] = []

  before(async () => {
    fx = await makeFixture()
    const big = path.join(fx.root, 'big.bin')
    const small = path.join(fx.root, 'small.bin')
    await writeFile(big, patternBytes(1024 * 1024))
    await writeFile(small, 'tiny')
    const gone = path.join(fx.root, 'now-a-directory')
    await mkdir(gone)
    const stats = { big: await stat(big), small: await stat(small) }
    server = createServer((req, res) => {
      const which = req.url === '/big' ? 'big' : 'small'
      sendFile(req, res, { path: gone, stat: stats[which], name: 'x.bin' }, { cacheControl: false }).then(
        () => { outcomes.push(`${which}: resolved`) },
        (err: unknown) => {
          outcomes.push(`${which}: rejected ${(err as NodeJS.ErrnoException).code ?? ''}, headers sent: ${res.headersSent}`)
          res.writeHead(503).end('try again')
        }
      )
    })
    server.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await fx.cleanup()
  })

  it('rejects before sending anything when a small body cannot be read, so the caller can answer', async () => {
    const res = await rawRequest(port, '/small')
    assert.equal(res.status, 503)
    assert.ok(outcomes.includes('small: rejected EISDIR, headers sent: false'), outcomes.join('; '))
  })

  it('destroys the connection rather than end a streamed body short', async () => {
    const result = await new Promise<string>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/big', agent: false }, (res) => {
        let bytes = 0
        res.on('data', (c: Buffer) => { bytes += c.length })
        res.on('end', () => resolve(`complete after ${bytes} bytes`))
        res.on('error', () => resolve(`cut off after ${bytes} bytes`))
        res.on('aborted', () => resolve(`cut off after ${bytes} bytes`))
      }).on('error', (err) => resolve(`request error ${err.message}`))
    })
    // Depending on timing the client sees the headers then a reset, or a hang-up: never an end.
    assert.doesNotMatch(result, /^complete/)
    assert.ok(outcomes.includes('big: resolved'), outcomes.join('; '))
  })
})
