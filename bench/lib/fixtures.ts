/**
 * Set-up through pulp-middleware's own programmatic API, in the measure's process and before
 * any server under test starts; nothing here is timed.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import express from 'express'
import { pulpMiddleware, type PulpMiddleware, type PulpOptions } from '../../lib'

export interface LocalPulp {
  pulp: PulpMiddleware
  /** `http://127.0.0.1:<port>/pulp` */
  url: string
}

/** Runs `fn` with a pulp-middleware on `dataDir` listening on port 0, then closes it. */
export async function withPulp<T> (dataDir: string, fn: (p: LocalPulp) => Promise<T>, options: PulpOptions = {}): Promise<T> {
  const pulp = pulpMiddleware({ ...options, dataDir })
  const app = express()
  app.use('/pulp', pulp)
  await pulp.ready
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    return await fn({ pulp, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pulp` })
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await pulp.close()
  }
}

/**
 * Publishes `repoId` with its `web` distributor (added first if `relativeUrl` is given) and
 * waits for the task; `force` publishes even when nothing changed since the last publish.
 */
export async function publishWeb (
  pulp: PulpMiddleware,
  repoId: string,
  options: { relativeUrl?: string, force?: boolean } = {},
  timeoutS = 900
): Promise<void> {
  if (options.relativeUrl !== undefined) {
    await pulp.distributors.add(repoId, { distributorTypeId: 'web', distributorId: 'web', distributorConfig: { relative_url: options.relativeUrl } })
  }
  const publishing = await pulp.publish(repoId, 'web', options.force === true ? { overrideConfig: { force_full: true } } : {})
  const task = await pulp.tasks.wait(publishing.taskId, { timeout: timeoutS })
  if (task.state !== 'finished') throw new Error(`publishing ${repoId} ended ${task.state}: ${JSON.stringify(task.error)}`)
}

/** A repository with these files, published at `relativeUrl` by the `web` distributor. */
export async function publishFiles (
  pulp: PulpMiddleware,
  repoId: string,
  files: Array<{ relativePath: string, file: Buffer | Readable | string }>,
  relativeUrl: string
): Promise<void> {
  await pulp.repositories.create({ id: repoId })
  for (const f of files) await pulp.repositories.addContent(repoId, f)
  await publishWeb(pulp, repoId, { relativeUrl })
}

/** A remote on `upstreamUrl` and a distribution serving it at `basePath` (no repository). */
export async function mirror (pulp: PulpMiddleware, name: string, upstreamUrl: string, basePath: string): Promise<void> {
  await pulp.remotes.create({ name, url: upstreamUrl })
  await pulp.distributions.create({ name, basePath, remote: name })
}
