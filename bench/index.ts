/**
 * `npm run bench [-- --quick] [--only=static-tree,upload] [--rounds=N] [--pin] [--profile[=dir]]
 * [--disk=image|tmpfs|tmp]` (where measure 8 writes its files: bench/lib/scratch-disk.ts)
 *
 * Runs every measure in a process of its own, one after another, prints one table (Markdown)
 * and writes it as JSON with the machine's description to bench/results/latest.json
 * (latest-quick.json for --quick); a run of some measures (`--only`) replaces their lines
 * there and keeps the rest. Every line compares us with a peer measured in the same
 * run: absolute figures move from machine to machine, the ratios are what to watch.
 */
import path from 'node:path'
import { fork } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { ensureBuilt, PROJECT_ROOT } from './lib/build'
import { stopChild } from './lib/child'
import { describeMachine, formatMachine, loadAverage } from './lib/machine'
import { parseFlags } from './lib/measure'
import { failedLine, formatTable, type Line } from './lib/report'

const MEASURES = [
  // Four cases, the attached 1 KiB file at two connection counts and node:http alone: about
  // twice the others' load time.
  { id: 'static-tree', number: 1, title: 'static tree vs express.static', limitS: { full: 900, quick: 200 } },
  { id: 'pull-through-hit', number: 2, title: 'pull-through warm hit vs static tree' },
  { id: 'cold-pull', number: 3, title: 'cold pull vs direct upstream' },
  { id: 'coalescing', number: 4, title: 'coalescing' },
  { id: 'publish', number: 5, title: 'publish' },
  { id: 'upload', number: 6, title: 'upload vs local write+hash' },
  { id: 'memory', number: 7, title: 'memory: peak RSS' },
  { id: 'push', number: 8, title: 'push vs cp -r + sha256sum' },
  { id: 'metrics-overhead', number: 9, title: 'metrics on vs off' },
  { id: 'orphan-cleanup', number: 10, title: 'orphan cleanup vs bare unlink loop' },
  { id: 'pull-through-freshness', number: 11, title: 'pull-through freshness' },
  { id: 'python-hit', number: 12, title: 'python remote warm hits' },
  { id: 'npm-hit', number: 13, title: 'npm remote warm hits' },
  { id: 'accel', number: 14, title: 'large files: nginx + us with accel vs nginx alone' }
] as const

async function runOne (buildDir: string, id: string, argv: string[], timeoutMs: number): Promise<Line[]> {
  const child = fork(path.join(buildDir, 'bench', `${id}.js`), argv, {
    cwd: PROJECT_ROOT,
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  let lines: Line[] | undefined
  child.on('message', (m: unknown) => {
    const msg = m as { type?: string, lines?: Line[] }
    if (msg?.type === 'lines') lines = msg.lines
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void stopChild(child, 5_000)
  }, timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  clearTimeout(timer)
  if (timedOut) throw new Error(`took longer than ${timeoutMs / 1000} s`)
  if (code !== 0 || lines === undefined) throw new Error(`exited with ${String(code)} (see its output above)`)
  return lines
}

async function main (): Promise<void> {
  const argv = process.argv.slice(2)
  const flags = parseFlags(argv)
  const onlyArg = argv.find((a) => a.startsWith('--only='))
  const only = onlyArg === undefined ? undefined : new Set(onlyArg.slice(7).split(','))
  const unknown = only === undefined ? [] : [...only].filter((id) => !MEASURES.some((m) => m.id === id))
  if (unknown.length > 0) throw new Error(`unknown measure(s) ${unknown.join(', ')}; known: ${MEASURES.map((m) => m.id).join(', ')}`)
  const passOn = argv.filter((a) => !a.startsWith('--only='))

  const started = performance.now()
  const machine = describeMachine()
  const loadBefore = loadAverage()
  process.stderr.write(`pulp-middleware bench (${flags.quick ? 'quick' : 'full'}) on ${formatMachine(machine)}; load ${loadBefore.join(' ')}\n`)
  if (loadBefore[0] > machine.cores / 2) process.stderr.write('  the machine is busy: ratios will be noisier than usual\n')
  const buildDir = await ensureBuilt()

  const lines: Line[] = []
  for (const m of MEASURES) {
    if (only !== undefined && !only.has(m.id)) continue
    process.stderr.write(`${m.number}. ${m.title}\n`)
    const t0 = performance.now()
    try {
      const limit = 'limitS' in m ? m.limitS : { full: 420, quick: 90 }
      lines.push(...await runOne(buildDir, m.id, passOn, (flags.quick ? limit.quick : limit.full) * 1000))
    } catch (err: unknown) {
      lines.push(failedLine(m.number, m.title, err instanceof Error ? err.message : String(err)))
    }
    process.stderr.write(`   ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  }

  const seconds = (performance.now() - started) / 1000
  const loadAfter = loadAverage()
  const table = formatTable(lines)
  process.stdout.write(`\n${table}\n\n${formatMachine(machine)}\nload average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}; ${flags.quick ? 'quick' : 'full'} run, ${seconds.toFixed(0)} s\n`)
  const results = path.join(PROJECT_ROOT, 'bench', 'results')
  await mkdir(results, { recursive: true })
  const file = path.join(results, flags.quick ? 'latest-quick.json' : 'latest.json')
  const run = {
    date: new Date().toISOString(),
    seconds: Math.round(seconds),
    load: { before: loadBefore, after: loadAfter },
    rounds: flags.rounds ?? 'default',
    pinned: flags.pin
  }
  const whole: Results = { mode: flags.quick ? 'quick' : 'full', ...run, machine, lines }
  await writeFile(file, JSON.stringify(only === undefined ? whole : await mergedInto(file, whole, run), null, 1) + '\n')
  process.stdout.write(`${only === undefined ? 'written to' : 'merged into'} ${path.relative(process.cwd(), file)}\n`)
  if (lines.some((l) => l.case === 'did not complete')) process.exitCode = 1
}

interface RunFacts {
  date: string
  seconds: number
  load: { before: number[], after: number[] }
  rounds: number | string
  pinned: boolean
}

interface Results extends RunFacts {
  mode: 'quick' | 'full'
  machine: ReturnType<typeof describeMachine>
  lines: Line[]
  /** Measures run again after the run the file is of, each with its own run's facts. */
  reruns?: Array<RunFacts & { measures: number[] }>
}

/**
 * A run of some measures (`--only`) replaces their lines in the last results of its mode and
 * keeps the others, noting when and how it ran: a rerun never loses the rest of a full run.
 * Without earlier results of the same mode, on the same machine, its own are the file.
 */
async function mergedInto (file: string, fresh: Results, run: RunFacts): Promise<Results> {
  let earlier: Results
  try {
    earlier = JSON.parse(await readFile(file, 'utf8')) as Results
  } catch {
    return fresh
  }
  if (earlier.mode !== fresh.mode || earlier.machine?.cores !== fresh.machine.cores || !Array.isArray(earlier.lines)) return fresh
  const measures = [...new Set(fresh.lines.map((l) => l.measure))]
  const lines = [...earlier.lines.filter((l) => !measures.includes(l.measure)), ...fresh.lines].sort((a, b) => a.measure - b.measure)
  return { ...earlier, lines, reruns: [...earlier.reruns ?? [], { measures, ...run }] }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
