import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'

export const execFileAsync = promisify(execFile)

/** Starts `node --import tsx <script>` and resolves with the child and the first stdout line matching `ready`. */
export async function startScript (
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  ms = 30_000
): Promise<{ child: ChildProcess, match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`${script} did not print ${ready} within ${ms} ms: ${out}${err}`)) }, ms)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(ready)
      if (m !== null) { clearTimeout(timer); resolve(m) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}: ${out}${err}`)) })
  })
  return { child, match }
}

/** Sends SIGTERM and resolves with the exit code. */
export async function stop (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  return await exited
}
