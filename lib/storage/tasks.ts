import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import { TASK_STATES } from '../schemas/limits'
import type { Dialect } from './connection'
import { fromJson, now, toBool, toJson, toNumber, type Page, type PageOf } from './rows'

export { TASK_STATES }
export type TaskState = typeof TASK_STATES[number]
export const ENDED_STATES: readonly TaskState[] = ['finished', 'failed', 'canceled', 'skipped']

export interface TaskError { code: string, message: string }

export interface Task {
  taskId: string
  taskType: string
  state: TaskState
  repoId: string | null
  distributorId: string | null
  overrideConfig: Record<string, unknown>
  progressReport: unknown
  result: unknown
  error: TaskError | null
  workerId: string | null
  cancelRequested: boolean
  created: string
  started: string | null
  finished: string | null
}

const TABLE = 'pulp_tasks'

interface TaskRow {
  id: string
  seq: number | string
  task_type: string
  repository_id: string | null
  distributor_id: string | null
  state: TaskState
  args: string
  progress_report: string | null
  result: string | null
  error: string | null
  worker_id: string | null
  cancel_requested: boolean | number
  created: string
  started: string | null
  finished: string | null
}

export function toTask (row: TaskRow): Task {
  return {
    taskId: row.id,
    taskType: row.task_type,
    state: row.state,
    repoId: row.repository_id,
    distributorId: row.distributor_id,
    overrideConfig: fromJson<{ overrideConfig?: Record<string, unknown> }>(row.args, {}).overrideConfig ?? {},
    progressReport: fromJson(row.progress_report, null),
    result: fromJson(row.result, null),
    error: fromJson(row.error, null),
    workerId: row.worker_id,
    cancelRequested: toBool(row.cancel_requested),
    created: row.created,
    started: row.started,
    finished: row.finished
  }
}

/** Queues a publish; returns the task as queued (a runner may claim it at once). */
export async function insertPublishTask (knex: Knex, repoId: string, distributorId: string,
  overrideConfig: Record<string, unknown>): Promise<Task> {
  const row = {
    id: randomUUID(),
    task_type: 'publish',
    repository_id: repoId,
    distributor_id: distributorId,
    state: 'waiting' as const,
    args: toJson({ overrideConfig }),
    created: now()
  }
  await knex(TABLE).insert(row)
  return toTask({
    ...row,
    seq: 0,
    progress_report: null,
    result: null,
    error: null,
    worker_id: null,
    cancel_requested: false,
    started: null,
    finished: null
  })
}

/**
 * A task this instance runs itself from the start (not the publish runner's queue): inserted
 * `running` and owned by `workerId`, so no runner claims it and GET /tasks/:id follows it.
 */
export async function insertRunningTask (knex: Knex, taskType: string, workerId: string, args: Record<string, unknown>): Promise<Task> {
  const at = now()
  const row = {
    id: randomUUID(), task_type: taskType, repository_id: null, distributor_id: null, state: 'running' as const,
    args: toJson(args), worker_id: workerId, created: at, started: at
  }
  await knex(TABLE).insert(row)
  return toTask({ ...row, seq: 0, progress_report: null, result: null, error: null, cancel_requested: false, finished: null })
}

export async function findTask (knex: Knex, id: string): Promise<Task | undefined> {
  const row = await knex(TABLE).where({ id }).first() as TaskRow | undefined
  return row === undefined ? undefined : toTask(row)
}

export interface TaskFilter { states?: readonly TaskState[], repoId?: string, distributorId?: string }

function filtered (knex: Knex, filter: TaskFilter): Knex.QueryBuilder {
  const q = knex(TABLE)
  if (filter.states !== undefined) q.whereIn('state', [...filter.states])
  if (filter.repoId !== undefined) q.where('repository_id', filter.repoId)
  if (filter.distributorId !== undefined) q.where('distributor_id', filter.distributorId)
  return q
}

/** Tasks newest first. */
export async function listTasks (knex: Knex, filter: TaskFilter, page: Page): Promise<PageOf<Task>> {
  const [{ n }] = await filtered(knex, filter).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await filtered(knex, filter).orderBy('seq', 'desc').limit(page.limit).offset(page.offset) as TaskRow[]
  return { count: toNumber(n), results: rows.map(toTask) }
}

/**
 * Claims up to `limit` waiting tasks for `workerId`, oldest first, skipping any task with an
 * earlier task of the same repository + distributor still waiting or running: that keeps one
 * publish per distributor at a time, in insertion order. The `state = 'waiting'` guard of each
 * update is the claim itself, so two runners never both win a task; on PostgreSQL the rows are
 * also locked with SKIP LOCKED so that concurrent runners pass each other instead of blocking.
 */
export async function claimTasks (knex: Knex, dialect: Dialect, workerId: string, limit: number): Promise<Task[]> {
  if (limit <= 0) return []
  const claim = async (db: Knex | Knex.Transaction): Promise<Task[]> => {
    const q = db(`${TABLE} as t`).where('t.state', 'waiting')
      .whereNotExists(function earlier () {
        this.select(db.raw('1')).from(`${TABLE} as o`)
          .whereRaw('o.repository_id = t.repository_id')
          .whereRaw('o.distributor_id = t.distributor_id')
          .whereIn('o.state', ['waiting', 'running'])
          .whereRaw('o.seq < t.seq')
      })
      .orderBy('t.seq').limit(limit).select('t.id')
    if (dialect === 'postgresql') q.forUpdate().skipLocked()
    const candidates = await q as Array<{ id: string }>
    const claimed: Task[] = []
    for (const { id } of candidates) {
      const at = now()
      const n = await db(TABLE).where({ id, state: 'waiting' }).update({ state: 'running', worker_id: workerId, started: at })
      if (n > 0) claimed.push(toTask(await db(TABLE).where({ id }).first() as TaskRow))
    }
    return claimed
  }
  // SQLite serialises writers on its own, and a read-then-write transaction there could fail
  // with SQLITE_BUSY against another process: the guarded single-statement updates suffice.
  return dialect === 'postgresql' ? await knex.transaction(claim) : await claim(knex)
}

/** Cancels a waiting task at once; returns whether it was waiting. */
export async function cancelWaiting (knex: Knex, id: string): Promise<boolean> {
  return await knex(TABLE).where({ id, state: 'waiting' }).update({
    state: 'canceled', cancel_requested: true, finished: now(), result: toJson({ result: 'canceled', summary: 'canceled before it started', details: null })
  }) > 0
}

/** Flags a running task for cancellation; its runner (in any process) stops it. */
export async function requestCancel (knex: Knex, id: string): Promise<boolean> {
  return await knex(TABLE).where({ id, state: 'running' }).update({ cancel_requested: true }) > 0
}

/** Of the given running tasks, those someone asked to cancel. */
export async function cancelRequested (knex: Knex, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await knex(TABLE).whereIn('id', [...ids]).where(function requested () {
    this.where('cancel_requested', true).orWhereNot('state', 'running')
  }).select('id') as Array<{ id: string }>
  return rows.map((r) => r.id)
}

export async function saveProgress (knex: Knex, id: string, workerId: string, progressJson: string): Promise<void> {
  await knex(TABLE).where({ id, state: 'running', worker_id: workerId }).update({ progress_report: progressJson })
}

export interface TaskEnd {
  state: Exclude<TaskState, 'waiting' | 'running'>
  result: unknown
  error: TaskError | null
  progressJson?: string
}

/** Ends a running task of `workerId`; false when it was no longer ours (marked interrupted). */
export async function endTask (db: Knex | Knex.Transaction, id: string, workerId: string, end: TaskEnd): Promise<boolean> {
  const patch: Record<string, unknown> = {
    state: end.state, result: toJson(end.result), error: end.error === null ? null : toJson(end.error), finished: now()
  }
  if (end.progressJson !== undefined) patch.progress_report = end.progressJson
  return await db(TABLE).where({ id, state: 'running', worker_id: workerId }).update(patch) > 0
}

/** Whether `workerId` still runs the task: false once another instance took it for interrupted, or it was ended. */
export async function ownsTask (knex: Knex, id: string, workerId: string): Promise<boolean> {
  return await knex(TABLE).where({ id, state: 'running', worker_id: workerId }).first('id') !== undefined
}

/** Running tasks whose worker is not `exceptWorker`, for interrupted-task recovery. */
export async function runningTasks (knex: Knex, exceptWorker?: string): Promise<Task[]> {
  const q = knex(TABLE).where({ state: 'running' })
  if (exceptWorker !== undefined) q.where((b) => { b.whereNot('worker_id', exceptWorker).orWhereNull('worker_id') })
  return (await q.orderBy('seq') as TaskRow[]).map(toTask)
}

/** Marks a task whose worker died as failed; false when someone else already did. */
export async function interruptTask (db: Knex | Knex.Transaction, id: string, workerId: string | null, error: TaskError): Promise<boolean> {
  return await endOrphanTask(db, id, workerId, { state: 'failed', error, result: { result: 'error', summary: error.message, details: null } })
}

/** Ends a running task of `workerId` (null: of no worker) on its stopped worker's behalf. */
export async function endOrphanTask (db: Knex | Knex.Transaction, id: string, workerId: string | null, end: TaskEnd): Promise<boolean> {
  const q = db(TABLE).where({ id, state: 'running' })
  if (workerId === null) q.whereNull('worker_id')
  else q.where('worker_id', workerId)
  const patch: Record<string, unknown> = {
    state: end.state, error: end.error === null ? null : toJson(end.error), result: toJson(end.result), finished: now()
  }
  return await q.update(patch) > 0
}
