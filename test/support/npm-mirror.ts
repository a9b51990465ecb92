import type { PulpOptions } from '../../lib'
import type { DialectName } from './databases'
import { NpmRegistry } from './npm-registry'
import { startPullThrough, type PullThroughFixture } from './upstream-pulp'

/** A pull-through middleware with an `npm` remote on a local registry, and a distribution at `npm/` joined to a repository. */
export interface NpmMirror {
  f: PullThroughFixture
  upstream: NpmRegistry
  /** What `npm --registry` takes: the distribution's URL, trailing slash included. */
  registry: string
  remote: string
  repository: string
  cleanup: () => Promise<void>
}

export async function startNpmMirror (options: PulpOptions & { dialect?: DialectName } = {}): Promise<NpmMirror> {
  const f = await startPullThrough(options)
  const upstream = await NpmRegistry.start()
  const remote = 'npmjs'
  const repository = 'npm-cache'
  await f.t.pulp.remotes.create({ name: remote, url: upstream.url, remoteTypeId: 'npm' })
  await f.t.pulp.repositories.create({ id: repository })
  await f.t.pulp.distributions.create({ name: 'npm', basePath: 'npm', remote, repository })
  return {
    f,
    upstream,
    registry: `http://127.0.0.1:${f.port}/pulp/content/npm/`,
    remote,
    repository,
    async cleanup () {
      await upstream.stop().catch(() => {})
      await f.cleanup()
    }
  }
}
