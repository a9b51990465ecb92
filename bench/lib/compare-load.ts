/**
 * Request-rate comparisons: the same load (autocannon, in its own process) against our URL
 * and the peer's, alternating which goes first in each round so drift on a shared machine
 * falls on both sides; the median of the rounds is reported.
 */
import type { Child } from './child'
import type { LoadJob, LoadResult } from './load-worker'
import { bySize, roundsOf, type MeasureContext } from './measure'
import { median, pairedRatio, ratioLine, spread, type Line, type Target } from './report'

export interface LoadCase {
  /** e.g. "1 KiB, 10 connections" */
  name: string
  ours: string
  peer: string
  connections: number
  /** The processes serving each side, asked for their CPU time around each run. */
  servers: { ours: Child<unknown>, peer: Child<unknown> }
  /** nginx doing the same (`cpu`: its CPU time so far, µs); null: it applies, but nginx is not installed. */
  nginx?: { url: string, cpu: () => number } | null
}

/** A run's figures, and the server's CPU time per request (µs): steadier than req/s on a busy machine. */
export interface Run extends LoadResult { cpuPerRequest: number }

export interface LoadOutcome { kase: LoadCase, ours: Run[], peer: Run[], nginx: Run[] }

type Side = 'ours' | 'peer' | 'nginx'

export function loadTimes (ctx: MeasureContext): { durationS: number, warmupS: number } {
  return bySize(ctx, { full: { durationS: 4, warmupS: 1 }, quick: { durationS: 2, warmupS: 1 }, smoke: { durationS: 1, warmupS: 0 } })
}

async function run (ctx: MeasureContext, load: Child<unknown>, cpu: () => Promise<number>, url: string, connections: number): Promise<Run> {
  const { durationS, warmupS } = loadTimes(ctx)
  if (warmupS > 0) await load.rpc.call<LoadResult>('run', { url, connections, durationS: warmupS } satisfies LoadJob, warmupS * 1000 + 60_000)
  const before = await cpu()
  const r = await load.rpc.call<LoadResult>('run', { url, connections, durationS } satisfies LoadJob, durationS * 1000 + 60_000)
  const after = await cpu()
  if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) {
    throw new Error(`${url} at ${connections} connections: ${r.requests} requests, ${r.errors} errors, ${r.non2xx} non-2xx`)
  }
  return { ...r, cpuPerRequest: (after - before) / r.requests }
}

function childCpu (server: Child<unknown>): () => Promise<number> {
  return async () => {
    const usage = await server.rpc.call<NodeJS.CpuUsage>('cpu')
    return usage.user + usage.system
  }
}

/** Where a side's load goes, and how its server's CPU time is read. */
function sideOf (kase: LoadCase, side: Side): { url: string, cpu: () => Promise<number> } | undefined {
  if (side !== 'nginx') return { url: kase[side], cpu: childCpu(kase.servers[side]) }
  const nginx = kase.nginx
  return nginx === undefined || nginx === null ? undefined : { url: nginx.url, cpu: async () => nginx.cpu() }
}

/**
 * `warmFirst`: load every URL once, unmeasured, before the first round. Where both sides run
 * the same code on one server (12, 13), the side measured first would otherwise pay alone
 * for the server's warm-up: round 1's first side measured up to 2x its later CPU per request.
 */
export async function compareLoad (
  ctx: MeasureContext, load: Child<unknown>, cases: LoadCase[], options: { warmFirst?: boolean } = {}
): Promise<LoadOutcome[]> {
  const out: LoadOutcome[] = cases.map((kase) => ({ kase, ours: [], peer: [], nginx: [] }))
  if (options.warmFirst === true) {
    const durationS = Math.max(1, loadTimes(ctx).warmupS)
    for (const kase of cases) {
      for (const url of [kase.ours, kase.peer]) await load.rpc.call<LoadResult>('run', { url, connections: kase.connections, durationS } satisfies LoadJob, durationS * 1000 + 60_000)
    }
  }
  // Five short pairs rather than three long ones: the median of the pairs' ratios is what
  // survives other work on a shared two-core machine.
  const rounds = roundsOf(ctx, 5)
  const sides: Side[] = ['ours', 'peer', 'nginx']
  for (let round = 0; round < rounds; round++) {
    // Cases take turns going first too: a case measured right after another case's load was
    // seen to cost up to 40 µs more CPU per request than when measured first.
    for (const o of out.map((_, i) => out[(i + round) % out.length])) {
      // Each side goes first in turn, so drift falls on all of them.
      const order = sides.map((_, i) => sides[(i + round) % sides.length])
      for (const side of order) {
        const target = sideOf(o.kase, side)
        if (target === undefined) continue
        const r = await run(ctx, load, target.cpu, target.url, o.kase.connections)
        o[side].push(r)
        ctx.log(`${o.kase.name} round ${round + 1} ${side}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms, ${r.cpuPerRequest.toFixed(0)} µs of server CPU per request`)
      }
    }
  }
  return out
}

/** Two lines per case: the request rate (judged on `target`) and p99 latency (printed). */
export function loadLines (measure: number, title: string, outcomes: LoadOutcome[], target: Omit<Target, 'unit'> | null, note?: string): Line[] {
  const lines: Line[] = []
  for (const { kase, ours, peer, nginx } of outcomes) {
    const rps = { ours: ours.map((r) => r.rps), peer: peer.map((r) => r.rps) }
    const p99 = { ours: ours.map((r) => r.p99), peer: peer.map((r) => r.p99) }
    const cpu = { ours: median(ours.map((r) => r.cpuPerRequest)), peer: median(peer.map((r) => r.cpuPerRequest)) }
    const spreadNote = ours.length > 1 ? `spread ${spread(rps.ours).toFixed(0)}%/${spread(rps.peer).toFixed(0)}%` : undefined
    const nginxCpu = nginx.length > 0 ? `/${median(nginx.map((r) => r.cpuPerRequest)).toFixed(0)}` : ''
    const cpuNote = `CPU/req ${cpu.ours.toFixed(0)}/${cpu.peer.toFixed(0)}${nginxCpu} µs`
    const notes = [note, cpuNote, spreadNote].filter((n) => n !== undefined).join('; ')
    lines.push(ratioLine({
      measure, title, case: `${kase.name}, req/s`, unit: 'req/s', ours: median(rps.ours), peer: median(rps.peer), samples: rps, note: notes,
      ...nginxFigures(kase, rps.ours, nginx.map((r) => r.rps))
    }, target))
    lines.push(ratioLine({
      measure, title, case: `${kase.name}, p99 latency`, unit: 'ms', ours: median(p99.ours), peer: median(p99.peer), samples: p99,
      ...nginxFigures(kase, p99.ours, nginx.map((r) => r.p99))
    }, null))
  }
  return lines
}

/** The nginx fields of a line: none where nginx does not apply, null where it is not installed. */
function nginxFigures (kase: LoadCase, ours: number[], nginx: number[]): Pick<Line, 'nginx' | 'nginxRatio'> {
  if (kase.nginx === undefined) return {}
  if (kase.nginx === null || nginx.length === 0) return { nginx: null, nginxRatio: null }
  return { nginx: median(nginx), nginxRatio: pairedRatio(ours, nginx) }
}
