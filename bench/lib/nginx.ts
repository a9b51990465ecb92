/**
 * Debian's nginx, started in the foreground on a loopback port of its own with a generated
 * configuration in a directory of its own (pid, logs and temp files there): the bench's peer,
 * and the front server of the accel test. Stopped by its own pid.
 */
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import type { MeasureContext } from './measure'

/** The nginx binary: on PATH, else Debian's /usr/sbin/nginx (not on a normal user's PATH); undefined when absent. */
export function nginxBinary (): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin']
  return dirs.filter((d) => path.isAbsolute(d)).map((d) => path.join(d, 'nginx')).find((file) => existsSync(file))
}

/** A port free on 127.0.0.1 a moment ago (taken by binding port 0). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export interface NginxServer {
  port: number
  /** `http://127.0.0.1:<port>` */
  origin: string
  process: ChildProcess
  /** CPU time (user + system, µs) of the master and its workers so far. */
  cpu: () => number
  stop: () => Promise<void>
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICK_US = 1_000_000 / 100

/** utime + stime (µs) of `pid` and of its children, from /proc; 0 where /proc cannot say. */
function treeCpu (pid: number): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // gone meanwhile
    }
    // The name in parentheses may hold spaces: fields are counted after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(entry) === pid || Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) * TICK_US
  }
  return total
}

/**
 * Starts nginx with `http` (server blocks and the like, `{port}` replaced by the port it gets)
 * inside an http block that keeps every file nginx writes under `dir`. Resolves once the port
 * accepts connections; rejects with nginx's own error log when it does not start.
 */
export async function startNginx (dir: string, http: string, options: { workers?: number, cpus?: string } = {}): Promise<NginxServer> {
  const binary = nginxBinary()
  if (binary === undefined) throw new Error('nginx is not installed (apt-get install -y nginx)')
  await mkdir(path.join(dir, 'temp'), { recursive: true })
  // The port found free may be taken before nginx binds it (other suites run alongside).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, dir, http, options)
    } catch (err: unknown) {
      if (attempt >= 3 || !(err as Error).message.includes('Address already in use')) throw err
    }
  }
}

async function startOnce (binary: string, dir: string, http: string, options: { workers?: number, cpus?: string }): Promise<NginxServer> {
  const port = await freePort()
  const temp = (name: string): string => `${name}_temp_path ${path.join(dir, 'temp', name)};`
  const conf = [
    // Workers run as `nobody` under a root master and could not read a private temp dir.
    process.getuid?.() === 0 ? 'user root;' : '',
    `worker_processes ${options.workers ?? 1};`,
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${path.join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  default_type application/octet-stream;',
    `  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}`,
    http.replaceAll('{port}', String(port)),
    '}'
  ].join('\n')
  const file = path.join(dir, 'nginx.conf')
  await writeFile(file, conf + '\n')
  // -e: the error log before the configuration is read, which would otherwise be /var/log/nginx.
  const args = ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;']
  // Pinned before it forks its workers (taskset execs nginx under the same pid).
  const child = options.cpus === undefined
    ? spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('taskset', ['-c', options.cpus, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGQUIT') // graceful: workers finish their responses
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  const deadline = Date.now() + 10_000
  // Its own pid in its pid file: nginx has bound every port (the port alone could answer for another process).
  const pidFile = path.join(dir, 'nginx.pid')
  const ready = async (): Promise<boolean> =>
    (await readFile(pidFile, 'utf8').catch(() => '')).trim() === String(child.pid) && await accepts(port)
  while (!await ready()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')
      throw new Error(`nginx did not start on port ${port}: ${stderr}${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { port, origin: `http://127.0.0.1:${port}`, process: child, cpu: () => child.pid === undefined ? 0 : treeCpu(child.pid), stop }
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/**
 * The bench's nginx peer for a measure, under `ctx.tmp` and pinned like our servers: one
 * worker, as we run one Node process. Null, with a note in the log, when nginx is absent.
 */
export async function benchNginx (ctx: MeasureContext, name: string, http: string): Promise<NginxServer | null> {
  if (nginxBinary() === undefined) {
    ctx.log('nginx is not installed (apt-get install -y nginx): no nginx column')
    return null
  }
  return await startNginx(path.join(ctx.tmp, `nginx-${name}`), http, { workers: 1, cpus: ctx.server().cpus })
}

/** The `proxy_cache_path` (zone `pulp`) that proxyCacheLocation uses, under `dir`. */
export function proxyCachePath (dir: string): string {
  return `proxy_cache_path ${path.join(dir, 'proxy-cache')} levels=1:2 keys_zone=pulp:10m max_size=20g inactive=1h use_temp_path=off;`
}

/**
 * nginx's pull-through: `proxy_cache` with `proxy_cache_lock` in front of `upstream`
 * (`127.0.0.1:<port>`) for `location`, every 200 kept an hour (the bench upstream sends no
 * freshness of its own). `X-Cache-Status` says MISS or HIT.
 */
export function proxyCacheLocation (upstream: number, location: string): string {
  return `location ${location} {
        proxy_pass http://127.0.0.1:${upstream};
        proxy_cache pulp;
        proxy_cache_lock on;
        proxy_cache_valid 200 1h;
        add_header X-Cache-Status $upstream_cache_status;
      }`
}

/** A server of nginx's pull-through alone (see proxyCacheLocation). */
export function proxyCacheConfig (dir: string, upstream: number, location: string): string {
  return `${proxyCachePath(dir)}
    server {
      listen 127.0.0.1:{port};
      sendfile on;
      tcp_nopush on;
      ${proxyCacheLocation(upstream, location)}
    }`
}
