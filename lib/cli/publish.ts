import { setTimeout as sleep } from 'node:timers/promises'
import { CommandError } from '../errors'
import type { ApiClient } from './client'
import { drawnBar } from './progress'

export interface Task {
  task_id: string
  state: string
  progress_report: unknown
  result: unknown
  error: { code?: string, message?: string } | null
  started: string | null
  finished: string | null
}

const ENDED = new Set(['finished', 'failed', 'canceled', 'skipped'])

/** Exit code of `publish --wait` for a task that failed or was canceled. */
export const TASK_FAILED_EXIT = 3

/**
 * Where a progress report says the work stands: its `state` (if a string) and the first
 * `{done, total}` pair found on it or one level down, as the web distributor's
 * `{state, units: {done, total}}` has. Other distributors report what they like, so anything
 * else just shows the task's state.
 */
export function progressOf (report: unknown): { state?: string, done?: number, total?: number } {
  if (report === null || typeof report !== 'object') return {}
  const r = report as Record<string, unknown>
  const state = typeof r.state === 'string' ? r.state : undefined
  for (const candidate of [r, ...Object.values(r)]) {
    const c = candidate as Record<string, unknown> | null
    if (c !== null && typeof c === 'object' && typeof c.done === 'number' && typeof c.total === 'number') {
      return { state, done: c.done, total: c.total }
    }
  }
  return { state }
}

/** Polls a task until it ends, drawing its progress report on `bar` when there is one. */
export async function waitForTask (client: ApiClient, taskId: string, options: { showBar: boolean, interval?: number }): Promise<Task> {
  const bar = options.showBar
    ? drawnBar({ format: 'publish {bar} {percentage}% | {value}/{total} | {state}', stream: process.stderr, hideCursor: true, fps: 8 })
    : undefined
  bar?.start(1, 0, { state: 'waiting' })
  try {
    for (;;) {
      const task = await client.json<Task>('GET', `/tasks/${encodeURIComponent(taskId)}`)
      const progress = progressOf(task.progress_report)
      if (progress.total !== undefined) bar?.setTotal(Math.max(progress.total, 1))
      bar?.update(progress.done ?? 0, { state: progress.state ?? task.state })
      if (ENDED.has(task.state)) {
        if (task.state === 'finished' && progress.total !== undefined) bar?.update(progress.total)
        return task
      }
      await sleep(options.interval ?? 250)
    }
  } finally {
    bar?.stop()
  }
}

/** Queues a publish; with `wait`, follows it to the end and fails when the task did. */
export async function publish (
  client: ApiClient,
  repo: string,
  distributor: string,
  options: { wait: boolean, showBar: boolean, interval?: number }
): Promise<Task> {
  const queued = await client.json<Task>('POST', `/repositories/${encodeURIComponent(repo)}/actions/publish`, { body: { id: distributor } })
  if (!options.wait) return queued
  return await waitForTask(client, queued.task_id, options)
}

/** The error for a task that ended badly, with the task's own message. */
export function taskFailure (task: Task): CommandError | undefined {
  if (task.state !== 'failed' && task.state !== 'canceled') return undefined
  const why = task.error?.message ?? (task.state === 'canceled' ? 'canceled' : 'no error message')
  return new CommandError(`task ${task.task_id} ${task.state}: ${why.split('\n')[0]}`, TASK_FAILED_EXIT)
}
