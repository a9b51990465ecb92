/** The processes of the cold-pull measures: a generated-bytes upstream and pulp mirroring it. */
import path from 'node:path'
import { startChild, type Child } from './child'
import { mirror, withPulp } from './fixtures'
import type { MeasureContext } from './measure'
import type { PulpServerArgs } from '../servers/pulp'

export interface PullSetup {
  upstream: Child<{ port: number }>
  server: Child<{ port: number }>
  /** `http://127.0.0.1:<upstream>/bytes/<size>/<name>` */
  direct: (size: number, name: string) => string
  /** The same file through pulp's distribution `cold`. */
  pulled: (size: number, name: string) => string
  /** The upstream path a pull of `name` fetches, for its fetch count. */
  upstreamPath: (size: number, name: string) => string
  stop: () => Promise<void>
}

export async function startPullSetup (ctx: MeasureContext): Promise<PullSetup> {
  const dataDir = path.join(ctx.tmp, 'pulp')
  const upstream = await startChild<{ port: number }>('servers/upstream.ts', {}, ctx.client())
  try {
    await withPulp(dataDir, async ({ pulp }) => {
      await mirror(pulp, 'up', `http://127.0.0.1:${upstream.ready.port}/bytes/`, 'cold')
    })
    const server = await startChild<{ port: number }>('servers/pulp.ts', { dataDir } satisfies PulpServerArgs, ctx.server())
    return {
      upstream,
      server,
      direct: (size, name) => `http://127.0.0.1:${upstream.ready.port}/bytes/${size}/${name}`,
      pulled: (size, name) => `http://127.0.0.1:${server.ready.port}/pulp/content/cold/${size}/${name}`,
      upstreamPath: (size, name) => `/bytes/${size}/${name}`,
      stop: async () => {
        await server.stop()
        await upstream.stop()
      }
    }
  } catch (err: unknown) {
    await upstream.stop()
    throw err
  }
}
