import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fork } from 'node:child_process'
import { nginxBinary } from '../../bench/lib/nginx'
import type { Line } from '../../bench/lib/report'

/** Runs one measure script as `npm run bench` does, with tiny sizes, and returns its lines. */
async function runMeasure (script: string): Promise<Line[]> {
  const child = fork(path.join(__dirname, '..', '..', 'bench', script), ['--smoke'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc']
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  let lines: Line[] | undefined
  child.on('message', (m: unknown) => {
    const msg = m as { type?: string, lines?: Line[] }
    if (msg.type === 'lines') lines = msg.lines
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  assert.equal(code, 0, stderr)
  assert.ok(lines !== undefined, `no lines came back: ${stderr}`)
  return lines
}

// Figures are not judged here (benchmarks print, they do not fail tests): only that the
// scripts run end to end, with their servers and clients in processes of their own.
describe('the bench scripts', () => {
  it('run the coalescing measure and report its lines', { timeout: 60_000 }, async () => {
    const lines = await runMeasure('coalescing.ts')
    assert.deepEqual(lines.map((l) => [l.measure, l.case]), [
      [4, '100 clients, 64 KiB, upstream fetches'],
      [4, '100 clients, 64 KiB, time for all vs one single cold fetch']
    ])
    assert.equal(lines[0].ours, 1, 'a hundred clients of one cold path make one upstream fetch')
    assert.ok(lines[1].ours > 0 && (lines[1].peer ?? 0) > 0)
  })

  it('run the accel measure through real nginx, or say it did not', { timeout: 120_000 }, async () => {
    const lines = await runMeasure('accel.ts')
    if (nginxBinary() === undefined && process.env.CI !== 'true') {
      assert.deepEqual(lines.map((l) => l.case), ['not run'])
      return
    }
    assert.deepEqual(lines.map((l) => l.case), [
      '4 MiB warm published file (smoke; full run: 256 MiB), throughput',
      '4 MiB warm published file (smoke; full run: 256 MiB), time to first byte',
      '4 MiB warm pull-through HIT (smoke; full run: 256 MiB), throughput',
      '4 MiB warm pull-through HIT (smoke; full run: 256 MiB), time to first byte'
    ])
    assert.ok(lines.every((l) => l.ours > 0 && (l.peer ?? 0) > 0))
  })
})
