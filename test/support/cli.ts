import os from 'node:os'
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import type { AddressInfo, Server } from 'node:net'
import express, { type Express, type Request } from 'express'

/** The built bin, as `npx pulp-middleware` runs it (run `npm run build` first). */
export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'index.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Where the commands run here keep their cache (push's digests), never the user's own. */
export const CLI_CACHE = path.join(os.tmpdir(), `pulp-cli-cache-${process.pid}`)

/** Runs the command line to its end, with stdin closed and stdout/stderr as pipes (no TTY). */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, XDG_CACHE_HOME: CLI_CACHE, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  return await collect(child)
}

/** Runs a shell command under `script`, which gives it a pseudo-terminal; answers what the terminal saw. */
export async function runInTerminal (command: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, COLUMNS: '120', TERM: 'xterm', XDG_CACHE_HOME: CLI_CACHE, ...env }, stdio: ['ignore', 'pipe', 'pipe']
  })
  return await collect(child)
}

async function collect (child: ChildProcess): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  return { code, stdout, stderr }
}

/** Control characters other than newline: what a log or a pipe must never get. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/

export interface CountedServer {
  url: string
  /** `METHOD path` of every request so far, in order. */
  requests: string[]
  close: () => Promise<void>
}

/** Serves `app` (a startPulp app) on port 0 behind a request log; `url` is the mount point. */
export async function listenCounted (app: Express): Promise<CountedServer> {
  const requests: string[] = []
  const outer = express()
  outer.use((req: Request, _res, next) => { requests.push(`${req.method} ${req.path}`); next() })
  outer.use(app)
  const server: Server = outer.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/pulp`,
    requests,
    close: async () => {
      await new Promise((resolve) => {
        server.close(resolve)
        ;(server as unknown as { closeAllConnections: () => void }).closeAllConnections()
      })
    }
  }
}
