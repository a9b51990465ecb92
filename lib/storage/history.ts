import type { Knex } from 'knex'
import type { PUBLISH_RESULTS } from '../schemas/distributors'
import { fromJson, toJson, toNumber, type Page, type PageOf } from './rows'

export type PublishResult = typeof PUBLISH_RESULTS[number]

/** One finished publish of a repository's distributor. */
export interface PublishHistoryEntry {
  id: number
  repoId: string
  distributorId: string
  taskId: string | null
  started: string
  completed: string
  result: PublishResult
  summary: unknown
  details: unknown
  errorMessage: string | null
}

export interface NewHistoryEntry {
  repoId: string
  distributorId: string
  taskId: string | null
  started: string
  completed: string
  result: PublishResult
  summary?: unknown
  details?: unknown
  errorMessage?: string | null
  fingerprint?: string | null
}

const TABLE = 'pulp_publish_history'

interface HistoryRow {
  id: number | string
  repository_id: string
  distributor_id: string
  task_id: string | null
  started: string
  completed: string
  result: PublishResult
  summary: string | null
  details: string | null
  error_message: string | null
  fingerprint: string | null
}

function toEntry (row: HistoryRow): PublishHistoryEntry {
  return {
    id: toNumber(row.id),
    repoId: row.repository_id,
    distributorId: row.distributor_id,
    taskId: row.task_id,
    started: row.started,
    completed: row.completed,
    result: row.result,
    summary: fromJson(row.summary, null),
    details: fromJson(row.details, null),
    errorMessage: row.error_message
  }
}

export async function insertHistory (db: Knex | Knex.Transaction, e: NewHistoryEntry): Promise<void> {
  await db(TABLE).insert({
    repository_id: e.repoId,
    distributor_id: e.distributorId,
    task_id: e.taskId,
    started: e.started,
    completed: e.completed,
    result: e.result,
    summary: toJson(e.summary ?? null),
    details: toJson(e.details ?? null),
    error_message: e.errorMessage ?? null,
    fingerprint: e.fingerprint ?? null
  })
}

/** The history of one distributor, newest first. */
export async function listHistory (knex: Knex, repoId: string, distributorId: string, page: Page): Promise<PageOf<PublishHistoryEntry>> {
  const where = { repository_id: repoId, distributor_id: distributorId }
  const [{ n }] = await knex(TABLE).where(where).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex(TABLE).where(where).orderBy('id', 'desc').limit(page.limit).offset(page.offset) as HistoryRow[]
  return { count: toNumber(n), results: rows.map(toEntry) }
}

/** The fingerprint of the last successful publish, or null. */
export async function lastSuccessFingerprint (knex: Knex, repoId: string, distributorId: string): Promise<string | null> {
  const row = await knex(TABLE).where({ repository_id: repoId, distributor_id: distributorId, result: 'success' })
    .orderBy('id', 'desc').first('fingerprint') as { fingerprint: string | null } | undefined
  return row?.fingerprint ?? null
}
