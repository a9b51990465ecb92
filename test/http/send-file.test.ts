import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { once } from 'node:events'
import { Agent, createServer, get, type Server } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { sendFile, WholeBodies } from '../../lib/http/send-file'
import { rawRequest } from '../support/content-http'
import { makeFixture, patternBytes, type ContentFixture } from '../support/content-tree'

async function listen (server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

async function stop (server: Server, fx: ContentFixture): Promise<void> {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await fx.cleanup()
}

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
    // Past the size read whole, so it streams.
    await writeFile(big, patternBytes(2 * 1024 * 1024))
    await writeFile(small, 'tiny')
    const gone = path.join(fx.root, 'now-a-directory')
    await mkdir(gone)
    // The directory's own identity with the files' sizes: the open passes sendFile's check that
    // it opened the file it was given, and the read fails.
    const opened = await stat(gone)
    const stats = { big: { ...opened, size: (await stat(big)).size }, small: { ...opened, size: (await stat(small)).size } } as unknown as Record<'big' | 'small', Stats>
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
    port = await listen(server)
  })
  after(async () => { await stop(server, fx) })

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

describe('sendFile reading bodies up to 1 MiB whole', () => {
  const whole = new WholeBodies()
  let fx: ContentFixture
  let server: Server
  let port: number
  const body = patternBytes(1024 * 1024)

  before(async () => {
    fx = await makeFixture()
    const file = path.join(fx.root, 'one-mib.bin')
    await writeFile(file, body)
    const st = await stat(file)
    server = createServer((req, res) => {
      void sendFile(req, res, { path: file, stat: st, name: 'one-mib.bin' }, { cacheControl: false, whole })
    })
    port = await listen(server)
  })
  after(async () => { await stop(server, fx) })

  async function fetchBody (agent: Agent | false, headers: Record<string, string> = {}): Promise<Buffer> {
    return await new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(Buffer.concat(chunks)))
        res.on('error', reject)
      }).on('error', reject)
    })
  }

  async function until (check: () => boolean, what: () => string): Promise<void> {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.ok(check(), what())
  }

  it('keeps each budget to its owner: another instance\'s is untouched', async () => {
    const other = new WholeBodies()
    const held = Array.from({ length: 16 }, () => other.take(1024 * 1024))
    assert.ok(held.every((b) => b !== undefined), 'sixteen 1 MiB bodies fit a budget of 16 MiB')
    assert.equal(other.take(1), undefined, 'and then it is spent')
    assert.equal(whole.bytesInFlight, 0)
    assert.ok((await fetchBody(false)).equals(body), 'this instance still reads its bodies whole')
    for (const b of held) other.give(b as Buffer, 1024 * 1024)
    assert.equal(other.bytesInFlight, 0)
  })

  it('gives the budget back after each response, on a kept-alive connection too', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      for (let i = 0; i < 20; i++) assert.ok((await fetchBody(agent)).equals(body), `response ${i}`)
      await until(() => whole.bytesInFlight === 0, () => `${whole.bytesInFlight} bytes still counted`)
    } finally {
      agent.destroy()
    }
  })

  it('streams once bodies not yet sent hold the budget, and counts them until they go', async () => {
    const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length
    const fdsBefore = await fds()
    // Thirty responses queued on one connection must not mean thirty listeners on it.
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`) }
    process.on('warning', onWarning)
    // Pipelined requests on connections that read nothing: once the kernel's buffers are full,
    // the responses wait in memory, as for slow clients on a real network.
    const stalled = await Promise.all(Array.from({ length: 8 }, async () => {
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(30))
      return socket
    }))
    try {
      await until(() => whole.bytesInFlight === 16 * 1024 * 1024, () => `${whole.bytesInFlight} bytes held, not the whole 16 MiB budget`)
      // With the budget full, another client's response streams, and is whole all the same.
      assert.ok((await fetchBody(false)).equals(body))
      // Never past the budget, however many wait (the kernel may have taken some meanwhile).
      assert.ok(whole.bytesInFlight <= 16 * 1024 * 1024, `${whole.bytesInFlight} bytes held`)
    } finally {
      for (const socket of stalled) socket.destroy()
    }
    await until(() => whole.bytesInFlight === 0, () => `${whole.bytesInFlight} bytes still counted after the clients left`)
    // The streamed responses still queued behind others closed their files too.
    let fdsAfter = await fds()
    for (let i = 0; i < 100 && fdsAfter > fdsBefore; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      fdsAfter = await fds()
    }
    assert.ok(fdsAfter <= fdsBefore, `${fdsAfter - fdsBefore} more descriptors open than before`)
    process.off('warning', onWarning)
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), [])
  })
  it('gives every client its own file whole while bodies and their buffers are reused', async () => {
    // Eight 1 MiB files with distinct bytes, forty clients at once, a third of them slow
    // readers: a buffer handed to the next response while a socket still wrote from it would
    // show up as another file's bytes.
    const files = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const bytes = Buffer.alloc(1024 * 1024, 0x41 + i)
      bytes.write(`file ${i} `, 0)
      const file = path.join(fx.root, `mixed-${i}.bin`)
      await writeFile(file, bytes)
      return { bytes, file, st: await stat(file) }
    }))
    const mixed = createServer((req, res) => {
      const f = files[Number(req.url?.slice(1))]
      void sendFile(req, res, { path: f.file, stat: f.st, name: 'x.bin' }, { cacheControl: false, whole })
    })
    const mixedPort = await listen(mixed)
    try {
      const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => await new Promise<boolean>((resolve, reject) => {
        const which = i % files.length
        get({ host: '127.0.0.1', port: mixedPort, path: `/${which}`, agent: false }, (res) => {
          const chunks: Buffer[] = []
          const slow = i % 3 === 0
          res.on('data', (c: Buffer) => {
            chunks.push(c)
            if (slow) {
              res.pause()
              setTimeout(() => res.resume(), 2)
            }
          })
          res.on('end', () => resolve(Buffer.concat(chunks).equals(files[which].bytes)))
          res.on('error', reject)
        }).on('error', reject)
      })))
      assert.deepEqual(results.map((ok, i) => ok ? 'ok' : `client ${i}: wrong bytes`), results.map(() => 'ok'))
      await until(() => whole.bytesInFlight === 0, () => `${whole.bytesInFlight} bytes still counted`)
    } finally {
      mixed.closeAllConnections()
      await new Promise((resolve) => mixed.close(resolve))
    }
  })
})

/**
 * A client that leaves while its file is being opened (the open is a thread-pool round trip):
 * its connection has closed before sendFile watches it, and what it took must still come back.
 */
describe('sendFile for a client already gone', () => {
  const whole = new WholeBodies()
  let fx: ContentFixture
  let server: Server
  let port: number
  const settled: string[] = []

  before(async () => {
    fx = await makeFixture()
    const files = { small: patternBytes(512 * 1024), big: patternBytes(3 * 1024 * 1024) }
    const targets = await Promise.all(Object.entries(files).map(async ([name, bytes]) => {
      const file = path.join(fx.root, `${name}.bin`)
      await writeFile(file, bytes)
      return [name, { path: file, stat: await stat(file), name: `${name}.bin` }] as const
    }))
    const byName = Object.fromEntries(targets)
    server = createServer((req, res) => {
      // Called once the connection is gone, as when the client leaves during the open.
      req.socket.once('close', () => {
        sendFile(req, res, byName[String(req.url).slice(1)], { cacheControl: false, whole }).then(
          () => { settled.push(`${String(req.url)} resolved`) },
          (err: unknown) => { settled.push(`${String(req.url)} rejected ${(err as Error).message}`) }
        )
      })
    })
    port = await listen(server)
  })
  after(async () => { await stop(server, fx) })

  async function leave (target: string): Promise<void> {
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    socket.destroy()
  }

  async function until (check: () => boolean, what: () => string): Promise<void> {
    for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.ok(check(), what())
  }

  it('gives back the budget of a body read whole', async () => {
    await leave('/small')
    await until(() => settled.includes('/small resolved'), () => `sendFile never settled: ${settled.join('; ')}`)
    await until(() => whole.bytesInFlight === 0, () => `${whole.bytesInFlight} bytes still counted`)
  })

  it('settles and closes the file of a streamed body', async () => {
    const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length
    const before = await fds()
    await leave('/big')
    await until(() => settled.includes('/big resolved'), () => `sendFile never settled: ${settled.join('; ')}`)
    let now = await fds()
    for (let i = 0; i < 100 && now > before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      now = await fds()
    }
    assert.ok(now <= before, `${now - before} more descriptors open than before`)
  })
})
