import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { ApiClient } from '../../lib/cli/client'

/**
 * A server that answers the first request on each connection (keeping it alive) and drops the
 * connection, unanswered, when a second request arrives on it: what a client meets when the
 * server closes an idle keep-alive connection just as the next request goes out.
 */
async function dropsSecondRequests (): Promise<{ url: string, connections: () => number, close: () => Promise<void> }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let requests = 0
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      // Requests end with their headers here, except the upload, which the server never answers.
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4)
        if (++requests > 1) {
          socket.destroy()
          return
        }
        const body = '{"ok":true}'
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pulp`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

describe('the command line\'s API client', () => {
  let server: Awaited<ReturnType<typeof dropsSecondRequests>>
  before(async () => { server = await dropsSecondRequests() })
  after(async () => { await server?.close() })

  it('sends a GET again on a new connection when a kept-alive one is closed under it', async () => {
    const client = new ApiClient({ url: server.url, connections: 1 })
    try {
      const before = server.connections()
      assert.deepEqual(await client.json('GET', '/status'), { ok: true })
      // The kept-alive connection is reused, dropped, and the request sent on a new one.
      assert.deepEqual(await client.json('GET', '/status'), { ok: true })
      assert.equal(server.connections() - before, 2)
    } finally {
      await client.close()
    }
  })

  it('does not send an upload again: its stream cannot be replayed', async () => {
    const client = new ApiClient({ url: server.url, connections: 1 })
    try {
      assert.deepEqual(await client.json('GET', '/status'), { ok: true })
      const before = server.connections()
      const body = Readable.from([Buffer.from('x'.repeat(10))])
      await assert.rejects(client.send('POST', '/repositories/r/content', { body, length: 10, contentType: 'application/octet-stream' }),
        /^CommandError: POST http:\/\/127\.0\.0\.1:\d+\/pulp\/api\/v1\/repositories\/r\/content: /)
      assert.equal(server.connections(), before)
    } finally {
      await client.close()
    }
  })
})
