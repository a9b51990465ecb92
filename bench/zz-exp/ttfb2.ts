import os from 'node:os'
import path from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { ensureBuilt } from '../lib/build'
import { startChild } from '../lib/child'
import { timedRequest, untilHit } from '../lib/http'
import { startPullSetup } from '../lib/pull-setup'
import { median } from '../lib/report'
import type { MeasureContext } from '../lib/measure'

async function main (): Promise<void> {
  await ensureBuilt()
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ttfb-'))
  const ctx = { tmp, server: () => ({}), client: () => ({}) } as unknown as MeasureContext
  const setup = await startPullSetup(ctx)
  const proxy = await startChild<{ port: number }>('zz-exp/bare-proxy.ts', { upstream: `http://127.0.0.1:${setup.upstream.ready.port}/bytes/` })
  const size = Number(process.argv[2] ?? 1024)
  const d: number[] = []; const p: number[] = []; const c: number[] = []; const h: number[] = []
  for (let i = 0; i < 30; i++) {
    d.push((await timedRequest(setup.direct(size, `d${i}`))).ttfbMs)
    p.push((await timedRequest(`http://127.0.0.1:${proxy.ready.port}/proxy/${size}/x${i}`)).ttfbMs)
    const u = setup.pulled(size, `p${i}`)
    c.push((await timedRequest(u)).ttfbMs)
    await untilHit(u)
    h.push((await timedRequest(u)).ttfbMs)
  }
  const m = (a: number[]): string => median(a.slice(5)).toFixed(2)
  console.log(`size ${size}: direct ${m(d)} ms, bare undici proxy ${m(p)} ms, pulp cold ${m(c)} ms, pulp hit ${m(h)} ms (medians of 25)`)
  await proxy.stop()
  await setup.stop()
  await rm(tmp, { recursive: true, force: true })
}
void main()
