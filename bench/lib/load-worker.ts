/**
 * The load generator: autocannon in a process of its own, so its CPU is not the server's.
 * Answers `run` calls from the measure that started it.
 */
import autocannon from 'autocannon'
import { exitWithParent, onStop, sendReady } from './child'
import { serveRpc } from './rpc'

export interface LoadJob {
  url: string
  connections: number
  durationS: number
}

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  bytesPerSec: number
  requests: number
  errors: number
  non2xx: number
  timeouts: number
}

async function cannon (url: string, connections: number, duration: number): Promise<autocannon.Result> {
  return await autocannon({ url, connections, duration, pipelining: 1 })
}

serveRpc({
  run: async (params) => {
    const job = params as LoadJob
    const r = await cannon(job.url, job.connections, job.durationS)
    return {
      rps: r.requests.total / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      bytesPerSec: r.throughput.average,
      requests: r.requests.total,
      errors: r.errors,
      non2xx: r.non2xx,
      timeouts: r.timeouts
    } satisfies LoadResult
  }
})
exitWithParent()
onStop(() => {})
sendReady()
