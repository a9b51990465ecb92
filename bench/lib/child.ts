/**
 * Every server, load generator and measure runs in a process of its own with an IPC channel.
 * Servers and load generators run the transpiled JavaScript (see build.ts); children are
 * bounded in time and stopped by their own pid.
 */
import path from 'node:path'
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { RpcClient } from './rpc'


export interface ChildOptions {
  /** CPUs to pin the process to (Linux `taskset`), from `--pin`. */
  cpus?: string
  /** Write a V8 CPU profile into this directory when the child exits (`--profile`). */
  cpuProfDir?: string
  /** Extra environment. */
  env?: NodeJS.ProcessEnv
  /** Kill the child if it has not sent `ready` within this long. */
  readyTimeoutMs?: number
}

export interface Child<R> {
  readonly process: ChildProcess
  readonly pid: number
  /** What the child sent with its `ready` message (a port, ...). */
  readonly ready: R
  readonly rpc: RpcClient
  /** Asks the child to stop, then kills it (by pid) if it does not exit in time. */
  stop: () => Promise<void>
}

/** Sends `{ type: 'ready', ...info }` to the parent of this process. */
export function sendReady (info: Record<string, unknown> = {}): void {
  process.send?.({ type: 'ready', ...info })
}

/** The JSON argument a child was started with. */
export function childArgs<T> (): T {
  const raw = process.argv[2]
  return (raw === undefined ? {} : JSON.parse(raw)) as T
}

/** Exits when the parent goes away, so no child outlives an interrupted run. */
export function exitWithParent (): void {
  process.on('disconnect', () => process.exit(0))
}

export function pin (pid: number, cpus: string | undefined): void {
  if (cpus === undefined || process.platform !== 'linux') return
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
  } catch (err: unknown) {
    process.stderr.write(`bench: could not pin ${pid} to CPUs ${cpus}: ${(err as Error).message}\n`)
  }
}

/**
 * Starts the transpiled `bench/<script>` with `args` (as one JSON argument) and waits for its
 * `ready`. The build must exist (`ensureBuilt()`, which sets BENCH_BUILT).
 */
export async function startChild<R = Record<string, unknown>> (
  script: string,
  args: unknown,
  options: ChildOptions = {}
): Promise<Child<R>> {
  const built = process.env.BENCH_BUILT
  if (built === undefined) throw new Error('the bench build is missing: call ensureBuilt() first')
  const execArgv: string[] = []
  if (options.cpuProfDir !== undefined) execArgv.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir)
  // Node flags for every child (e.g. BENCH_CHILD_FLAGS=--trace-gc), which NODE_OPTIONS refuses for some.
  const flags = process.env.BENCH_CHILD_FLAGS
  if (flags !== undefined && flags.trim() !== '') execArgv.push(...flags.trim().split(/\s+/))
  const child = fork(path.join(built, 'bench', script.replace(/\.ts$/, '.js')), [JSON.stringify(args ?? {})], {
    cwd: path.resolve(built, '..', '..', '..', '..'),
    execArgv,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const pid = child.pid as number
  pin(pid, options.cpus)
  const rpc = new RpcClient(child)
  const timeoutMs = options.readyTimeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  try {
    const ready = await new Promise<R>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${script} was not ready within ${timeoutMs} ms`)), timeoutMs)
      child.on('message', (message: unknown) => {
        const m = message as { type?: string }
        if (m?.type === 'ready') resolve(m as R)
      })
      child.once('exit', (code, signal) => reject(new Error(`${script} exited (${code ?? signal ?? '?'}) before it was ready`)))
    })
    return { process: child, pid, ready, rpc, stop: async () => { await stopChild(child) } }
  } catch (err: unknown) {
    await stopChild(child)
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/** SIGTERM (or a `stop` message), then SIGKILL after a grace period; resolves once it exited. */
export async function stopChild (child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  // A child that profiles must exit normally for V8 to write the profile: ask it first.
  if (child.connected) child.send({ type: 'stop' })
  else child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
  try {
    await exited
  } finally {
    clearTimeout(timer)
  }
}

/** In a child: exits cleanly on the parent's `stop` message, after `cleanup`. */
export function onStop (cleanup: () => Promise<void> | void): void {
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    Promise.resolve().then(cleanup).then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`bench: cleanup failed: ${String(err)}\n`)
      process.exit(1)
    })
  }
  process.on('message', (m: unknown) => { if ((m as { type?: string })?.type === 'stop') stop() })
  process.once('SIGTERM', stop)
}
