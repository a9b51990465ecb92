import path from 'node:path'
import { once } from 'node:events'
import { readdir, rm } from 'node:fs/promises'
import type { ChildProcess } from 'node:child_process'
import type { Knex } from 'knex'
import { pulpMiddleware, type PulpMiddleware } from '../../lib'
import { openConnection } from '../../lib/storage/connection'
import { createPgDatabase, type DialectName } from './databases'
import { startScript } from './processes'
import { tempDir } from './pulp'
import { fetchRaw, type FetchOptions, type FetchResult } from './upstream-pulp'
import { UpstreamServer } from './upstream-server'

// The same instance process as the runner tests, with no runner: pull-through needs none.
const INSTANCE = path.join(__dirname, 'scale-instance.ts')

export interface PullInstance {
  child: ChildProcess
  port: number
}

/** Several processes serving one database and one data directory, and an upstream they share. */
export interface PullCluster {
  dataDir: string
  /** The test's own connection to the shared database, for counting rows. */
  knex: Knex
  upstream: UpstreamServer
  instances: PullInstance[]
  /** GET (or `options.method`) `/pulp/content/<contentPath>` on instance `i`, over a real socket. */
  get: (i: number, contentPath: string, options?: FetchOptions) => Promise<FetchResult>
  /** `url` on instance `i`, e.g. `/pulp/api/v1/status`. */
  url: (i: number, target: string) => string
  /** Kills instance `i` with SIGKILL, as a crash would, and waits until it is gone. */
  crash: (i: number) => Promise<void>
  /** Files left in `tmp/`. */
  tmpFiles: () => Promise<string[]>
  /** Kills every instance, drops the database, removes the data directory. */
  stop: () => Promise<void>
}

export interface PullClusterOptions {
  dialect: DialectName
  instances: number
  /** Runs first, in this process, on the shared database: remotes, repositories, distributions. */
  setup: (pulp: PulpMiddleware, upstream: UpstreamServer) => Promise<void>
}

/** The simplest setup: remote `up` on the upstream's `files/`, distribution `mirror` using it, no repository. */
export async function wireMirror (pulp: PulpMiddleware, upstream: UpstreamServer): Promise<void> {
  await pulp.remotes.create({ name: 'up', url: upstream.url('files/') })
  await pulp.distributions.create({ name: 'mirror', basePath: 'mirror', remote: 'up' })
}

async function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

export async function startPullCluster (options: PullClusterOptions): Promise<PullCluster> {
  const dataDir = await tempDir('pulp-scale-pull-')
  const pg = options.dialect === 'postgresql' ? await createPgDatabase() : undefined
  const config: Knex.Config = pg?.config ?? { client: 'sqlite3', connection: { filename: path.join(dataDir, 'pulp.sqlite') } }
  const upstream = await UpstreamServer.start()
  const instances: PullInstance[] = []
  let knex: Knex | undefined
  const stop = async (): Promise<void> => {
    await Promise.all(instances.map(async (i) => await kill(i.child)))
    await knex?.destroy()
    await upstream.close()
    await pg?.drop()
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const setup = pulpMiddleware({ dataDir, database: config, runner: false })
    try {
      await setup.ready
      await options.setup(setup, upstream)
    } finally {
      await setup.close()
    }
    knex = openConnection(config, dataDir).knex
    const started = await Promise.allSettled(Array.from({ length: options.instances }, async (_v, i) => {
      const env = { SCALE_NAME: `pull-${i}`, SCALE_DATA_DIR: dataDir, SCALE_LOG_DIR: dataDir, SCALE_DATABASE: JSON.stringify(config), SCALE_RUNNER: 'false' }
      const { child, match } = await startScript(INSTANCE, [], env, /READY \S+ http:\/\/127\.0\.0\.1:(\d+)\//)
      instances.push({ child, port: Number(match[1]) })
    }))
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  } catch (err: unknown) {
    await stop()
    throw err
  }
  return {
    dataDir,
    knex,
    upstream,
    instances,
    get: async (i, contentPath, fetchOptions) => await fetchRaw(instances[i].port, `/pulp/content/${contentPath}`, fetchOptions),
    url: (i, target) => `http://127.0.0.1:${instances[i].port}${target}`,
    crash: async (i) => { await kill(instances[i].child) },
    tmpFiles: async () => await readdir(path.join(dataDir, 'tmp')),
    stop
  }
}
