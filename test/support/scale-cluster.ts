/**
 * Several instance processes (test/support/scale-instance.ts) on one database and one data
 * directory, with helpers to call their REST APIs and read what their distributors logged.
 */
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import type { Knex } from 'knex'
import type { RunnerOptions } from '../../lib'
import { openConnection } from '../../lib/storage/connection'
import { createPgDatabase, type DialectName } from './databases'
import { tempDir } from './pulp'
import { releaseFile, type ScaleEvent } from './scale-distributors'

const SCRIPT = path.join(__dirname, 'scale-instance.ts')

export interface Instance {
  name: string
  /** Where the middleware is mounted: `http://127.0.0.1:<port>/pulp`. */
  base: string
  instanceId: string
  pid: number
  child: ChildProcess
  /** What the process wrote to stderr, for failure messages. */
  stderr: () => string
}

export interface Reply {
  status: number
  body: unknown
  text: string
}

/** A task as the REST API answers it. */
export interface WireTask {
  task_id: string
  state: string
  result: { result: string, summary: unknown, details: unknown } | null
  error: { code: string, message: string } | null
  worker_id: string | null
  cancel_requested: boolean
}

export interface Cluster {
  dataDir: string
  logDir: string
  /** The test's own connection to the shared database, to read or doctor rows. */
  knex: Knex
  /** Whether the test could lock every task and worker row now (no instance holds a lock on them). */
  lockable: () => Promise<boolean>
  start: (names: string[], runner: RunnerOptions | false) => Promise<Instance[]>
  events: () => Promise<ScaleEvent[]>
  /** Lets a held `slow-web` publish go on to activate its publication. */
  release: (taskId: string) => Promise<void>
  /** The stderr of every instance, for the message of a failed wait. */
  diagnostics: () => string
  /** Stops every instance (SIGKILL if SIGTERM is not enough), drops the database, removes the directories. */
  close: () => Promise<void>
}

async function exited (child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true
  return await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    child.once('exit', () => { clearTimeout(timer); resolve(true) })
  })
}

/** Sends SIGTERM (after SIGCONT, in case a test froze it) and waits; SIGKILL after `ms`. */
export async function stopInstance (instance: Instance, ms = 15_000): Promise<void> {
  const { child } = instance
  if (await exited(child, 0)) return
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  if (await exited(child, ms)) return
  child.kill('SIGKILL')
  await exited(child, ms)
}

/**
 * SIGSTOPs an instance at a moment it holds no database lock: a process frozen in the middle
 * of a write would block every other instance, which is not what a freeze test is about.
 */
export async function freeze (cluster: Cluster, instance: Instance): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    instance.child.kill('SIGSTOP')
    if (await cluster.lockable()) return
    instance.child.kill('SIGCONT')
    if (attempt === 50) throw new Error(`${instance.name} keeps holding database locks`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** SIGKILL, and waits for the process to be gone. */
export async function killInstance (instance: Instance): Promise<void> {
  instance.child.kill('SIGKILL')
  await exited(instance.child, 15_000)
}

async function spawnInstance (name: string, env: NodeJS.ProcessEnv): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: { ...process.env, ...env, SCALE_NAME: name }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000) })
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`instance ${name} did not start within 60 s: ${out}${err}`)) }, 60_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(/READY (\S+) (\S+) (\S+) (\d+)/)
      if (m !== null) { clearTimeout(timer); resolve(m) }
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`instance ${name} exited (${code ?? signal}): ${out}${err}`)) })
  })
  return { name, base: match[2], instanceId: match[3], pid: Number(match[4]), child, stderr: () => err }
}

/** A shared data directory and database (a SQLite file in it, or a fresh PostgreSQL database). */
export async function createCluster (dialect: DialectName): Promise<Cluster> {
  const root = await tempDir('pulp-scale-')
  const dataDir = path.join(root, 'data')
  const logDir = path.join(root, 'log')
  await mkdir(dataDir)
  await mkdir(logDir)
  const pg = dialect === 'postgresql'
    ? await createPgDatabase().catch(async (err: unknown) => { await rm(root, { recursive: true, force: true }); throw err })
    : undefined
  const config: Knex.Config = pg?.config ?? { client: 'sqlite3', connection: { filename: path.join(dataDir, 'pulp.sqlite') } }
  const { knex } = openConnection(config, dataDir)
  const instances: Instance[] = []

  return {
    dataDir,
    logDir,
    knex,
    async start (names, runner) {
      const env = { SCALE_DATA_DIR: dataDir, SCALE_LOG_DIR: logDir, SCALE_DATABASE: JSON.stringify(config), SCALE_RUNNER: JSON.stringify(runner), DEBUG: process.env.SCALE_DEBUG ?? 'pulp:publish:*' }
      const settled = await Promise.allSettled(names.map(async (name) => await spawnInstance(name, env)))
      for (const s of settled) if (s.status === 'fulfilled') instances.push(s.value)
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      return settled.map((s) => (s as PromiseFulfilledResult<Instance>).value)
    },
    async lockable () {
      try {
        if (dialect === 'postgresql') {
          await knex.transaction(async (trx) => {
            await trx.raw("set local lock_timeout = '200ms'")
            await trx('pulp_workers').select('id').forUpdate()
            await trx('pulp_tasks').select('id').forUpdate()
          })
        } else {
          // SQLite has one lock for writers: take it (BEGIN IMMEDIATE) without waiting long.
          await knex.raw('PRAGMA busy_timeout = 200')
          try {
            await knex.transaction(async () => {})
          } finally {
            await knex.raw('PRAGMA busy_timeout = 10000')
          }
        }
        return true
      } catch {
        return false
      }
    },
    async events () {
      const events: ScaleEvent[] = []
      for (const file of (await readdir(logDir)).filter((f) => f.endsWith('.jsonl'))) {
        for (const line of (await readFile(path.join(logDir, file), 'utf8')).split('\n')) {
          if (line !== '') events.push(JSON.parse(line) as ScaleEvent)
        }
      }
      return events.sort((a, b) => a.at - b.at)
    },
    async release (taskId) {
      await writeFile(releaseFile(logDir, taskId), '')
    },
    diagnostics () {
      return instances.map((i) => `--- ${i.name} (pid ${i.pid}) stderr:\n${i.stderr().slice(-4000)}`).join('\n')
    },
    async close () {
      await Promise.all(instances.map(async (i) => { await stopInstance(i) }))
      await knex.destroy()
      await pg?.drop()
      await rm(root, { recursive: true, force: true })
    }
  }
}

/** A JSON request to an instance's REST API (`path` below `/api/v1`). */
export async function call (instance: Instance, method: string, apiPath: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${instance.base}/api/v1${apiPath}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not JSON: the text tells.
  }
  return { status: res.status, body: parsed, text }
}

/** Like `call`, but fails unless the answer has `status`. */
export async function expectCall<T = Record<string, unknown>> (
  instance: Instance,
  method: string,
  apiPath: string,
  status: number,
  body?: unknown
): Promise<T> {
  const reply = await call(instance, method, apiPath, body)
  if (reply.status !== status) throw new Error(`${method} ${apiPath} on ${instance.name}: expected ${status}, got ${reply.status}: ${reply.text}`)
  return reply.body as T
}

/** Uploads one file unit through an instance's REST API. */
export async function upload (instance: Instance, repoId: string, relativePath: string, content: string): Promise<void> {
  const form = new FormData()
  form.append('relative_path', relativePath)
  form.append('file', new Blob([content]), path.basename(relativePath))
  const res = await fetch(`${instance.base}/api/v1/repositories/${repoId}/content`, { method: 'POST', body: form })
  if (res.status !== 201) throw new Error(`upload to ${repoId} on ${instance.name}: ${res.status} ${await res.text()}`)
}

/** A published file as an instance serves it: the status and the body. */
export async function fetchContent (instance: Instance, contentPath: string): Promise<{ status: number, text: string }> {
  const res = await fetch(`${instance.base}/content/${contentPath}`)
  return { status: res.status, text: await res.text() }
}

/** Polls a task on `instance` until `check` holds or `ms` pass; returns its last reading. */
export async function waitForTask (
  instance: Instance,
  taskId: string,
  check: (task: WireTask) => boolean,
  ms: number,
  cluster?: Cluster
): Promise<WireTask> {
  const deadline = Date.now() + ms
  for (;;) {
    const task = await expectCall<WireTask>(instance, 'GET', `/tasks/${taskId}`, 200)
    if (check(task)) return task
    if (Date.now() > deadline) {
      throw new Error(`task ${taskId} is still ${task.state} (${JSON.stringify(task.error)}) after ${ms} ms\n${cluster?.diagnostics() ?? ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export const ENDED = ['finished', 'failed', 'canceled', 'skipped']

/** Polls the distributors' logs until one matches, or fails after `ms`. */
export async function waitForEvent (cluster: Cluster, match: (e: ScaleEvent) => boolean, ms: number, what: string): Promise<ScaleEvent> {
  const deadline = Date.now() + ms
  for (;;) {
    const found = (await cluster.events()).find(match)
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${cluster.diagnostics()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
