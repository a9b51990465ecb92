/**
 * Three pulp-middleware instances on one PostgreSQL database and one data directory, as
 * several hosts behind a load balancer would run them: any instance takes API calls, serves
 * content and runs publish tasks, and a task runs on exactly one of them.
 *
 *   PULP_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulp npx tsx examples/cluster.ts
 *
 * PULP_DATABASE_URL is required (the database must exist). PULP_DATA_DIR (default ./pulp-data)
 * is the shared volume; PORT (default 8080) is the first of three consecutive ports, or 0 for
 * any free ones. Each instance is a child process with its own Express app; Ctrl-C (SIGINT) or
 * SIGTERM stops them all.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { pulpMiddleware } from '../lib'

const INSTANCES = 3

interface Ready { url: string, pid: number }

/** In a child process: one instance, listening on PORT, until told to stop. */
async function runInstance (databaseUrl: string): Promise<void> {
  const pulp = pulpMiddleware({
    dataDir: process.env.PULP_DATA_DIR ?? './pulp-data',
    database: { client: 'pg', connection: databaseUrl },
    // Short enough that a dead instance's publish is failed within seconds; see docs/deployment.md.
    runner: { heartbeatInterval: 2, heartbeatTimeout: 10 }
  })
  const app = express()
  app.use('/pulp', pulp)
  await pulp.ready
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
  await new Promise<void>((resolve, reject) => { server.once('listening', resolve).once('error', reject) })
  const { port } = server.address() as AddressInfo
  process.send?.({ url: `http://127.0.0.1:${port}/pulp`, pid: process.pid } satisfies Ready)

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    server.close()
    server.closeAllConnections()
    pulp.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  }
  // Ctrl-C reaches the whole process group; the parent going away (disconnect) stops us too.
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.once('disconnect', stop)
}

async function exitOf (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  return await new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

/** In the parent: starts the instances, prints their URLs, and stops them on a signal. */
async function runCluster (): Promise<void> {
  const firstPort = Number(process.env.PORT ?? 8080)
  const children = Array.from({ length: INSTANCES }, (_, i) =>
    fork(__filename, ['instance'], { env: { ...process.env, PORT: String(firstPort === 0 ? 0 : firstPort + i) } }))

  let stopping: Promise<void> | undefined
  const stopAll = async (code: number): Promise<void> => {
    stopping ??= (async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
      const codes = await Promise.all(children.map(exitOf))
      process.exit(codes.every((c) => c === 0) ? code : 1)
    })()
    await stopping
  }
  process.once('SIGINT', () => { void stopAll(0) })
  process.once('SIGTERM', () => { void stopAll(0) })

  const ready = await Promise.allSettled(children.map(async (child, i) => await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m: Ready) => resolve(m))
    child.once('exit', (code) => reject(new Error(`instance ${i + 1} exited with ${code} before it was ready`)))
  })))
  const failed = ready.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) {
    console.error(String(failed.reason))
    await stopAll(1)
    return
  }
  ready.forEach((r, i) => {
    const { url, pid } = (r as PromiseFulfilledResult<Ready>).value
    console.log(`instance ${i + 1}: ${url} (pid ${pid})`)
  })
  console.log('cluster ready: one database, one data directory; Ctrl-C stops all three')
  // An instance that dies on its own takes the example down: better than a silent gap.
  for (const [i, child] of children.entries()) {
    child.once('exit', (code) => {
      if (stopping !== undefined) return
      console.error(`instance ${i + 1} exited with ${code}; stopping the others`)
      void stopAll(1)
    })
  }
}

const databaseUrl = process.env.PULP_DATABASE_URL
if (databaseUrl === undefined || databaseUrl === '') {
  console.error('examples/cluster.ts needs PULP_DATABASE_URL, the PostgreSQL database the three instances share,')
  console.error('  for example: PULP_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulp npx tsx examples/cluster.ts')
  process.exit(2)
}
const main = process.argv[2] === 'instance' ? runInstance(databaseUrl) : runCluster()
main.catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
