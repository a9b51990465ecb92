import path from 'node:path'
import { rm } from 'node:fs/promises'
import createDebug from 'debug'
import type { DistributorService } from '../core/distributors'
import { ERROR_CODES, localFault } from '../errors'
import type { PulpContext } from '../core/context'
import type { Distributor, PublishReport } from '../plugins/distributor'
import type { DistributorType } from '../plugins/registry'
import * as distributors from '../storage/distributors'
import type { RepoDistributor } from '../storage/distributors'
import * as history from '../storage/history'
import { findRepository, type Repository } from '../storage/repositories'
import { now } from '../storage/rows'
import { endTask, type Task, type TaskEnd } from '../storage/tasks'
import { RunConduit, type ConduitDeps } from './conduit'
import { publishFingerprint } from './fingerprint'
import { isReport } from './report'
import type { PublicationTree } from './tree'

const debug = createDebug('pulp:publish:task')

export interface RunDeps {
  ctx: PulpContext
  distributors: DistributorService
  tree: PublicationTree
  conduitDeps: ConduitDeps
}

/** What the runner holds of a running publish, to cancel it. */
export interface RunControl {
  readonly controller: AbortController
  /** The distributor while its `publishRepo` runs: only then is `cancelPublishRepo()` called. */
  instance?: Distributor
}

interface Outcome {
  end: TaskEnd
  history?: Omit<history.NewHistoryEntry, 'repoId' | 'distributorId' | 'taskId' | 'started' | 'completed'>
}

function messageOf (value: unknown, fallback: string): string {
  if (typeof value === 'string' && value !== '') return value
  if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') return (value as { message: string }).message
  if (value === null || value === undefined) return fallback
  return JSON.stringify(value).slice(0, 1000)
}

function failed (code: string, message: string, result: history.PublishResult = 'error'): Outcome {
  return {
    end: { state: 'failed', result: { result, summary: message, details: null }, error: { code, message } },
    history: { result, errorMessage: message }
  }
}

function fromReport (report: PublishReport, fingerprint: string): Outcome {
  const body = { summary: report.summary, details: report.details }
  if (report.successFlag) {
    return { end: { state: 'finished', result: { result: 'success', ...body }, error: null }, history: { result: 'success', ...body, fingerprint } }
  }
  if (report.canceledFlag) {
    return { end: { state: 'canceled', result: { result: 'canceled', ...body }, error: null }, history: { result: 'canceled', ...body } }
  }
  const message = messageOf(report.summary, 'the distributor reported a failure')
  return {
    end: { state: 'failed', result: { result: 'failed', ...body }, error: { code: ERROR_CODES.PUBLISH_FAILED, message } },
    history: { result: 'failed', ...body, errorMessage: message }
  }
}

function canceled (): Outcome {
  const summary = 'canceled'
  return { end: { state: 'canceled', result: { result: 'canceled', summary, details: null }, error: null }, history: { result: 'canceled', summary } }
}

/** A thrown error as a task's failure: a local fault named as such, paths relative to `dataDir`. */
function thrown (deps: RunDeps, err: unknown, fallback: string): Outcome {
  const { dataDir } = deps.ctx.options
  const e = localFault(err, dataDir) ?? err
  return failed(codeOf(e), messageOf(e, fallback).replaceAll(path.resolve(dataDir) + path.sep, ''))
}

function codeOf (err: unknown): string {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' ? code : ERROR_CODES.PUBLISH_ERROR
}

interface Plan {
  repo: Repository
  row: RepoDistributor
  type: DistributorType
  fingerprint: string
}

/** Looks up what to publish; an outcome instead when there is nothing to run (gone, or skipped). */
async function plan (deps: RunDeps, task: Task, repoId: string, distributorId: string): Promise<Plan | Outcome> {
  const { knex } = deps.ctx
  const repo = await findRepository(knex, repoId)
  const row = repo === undefined ? undefined : await distributors.findDistributor(knex, repoId, distributorId)
  if (repo === undefined || row === undefined) {
    return { end: failed(ERROR_CODES.NOT_FOUND, `repository "${repoId}" or its distributor "${distributorId}" no longer exists`).end }
  }
  const type = deps.distributors.typeOf(row.distributorTypeId)
  const fingerprint = publishFingerprint({
    contentVersion: repo.contentVersion,
    distributorTypeId: type.id,
    distributorCreated: row.created,
    defaultConfig: { ...type.defaultConfig },
    storedConfig: row.config,
    overrideConfig: task.overrideConfig
  })
  if (task.overrideConfig.force_full !== true && await history.lastSuccessFingerprint(knex, repoId, distributorId) === fingerprint) {
    const summary = 'skipped: nothing changed since the last successful publish'
    return { end: { state: 'skipped', result: { result: 'skipped', summary, details: null }, error: null }, history: { result: 'skipped', summary } }
  }
  return { repo, row, type, fingerprint }
}

/** Calls publishRepo on a fresh instance in a fresh working directory, and reads its answer. */
async function execute (deps: RunDeps, task: Task, control: RunControl, p: Plan): Promise<{ outcome: Outcome, progressJson?: string }> {
  const owner = { repoId: p.row.repoId, distributorId: p.row.id }
  const { signal } = control.controller
  const workingDir = deps.tree.workingDir(owner, task.taskId)
  await deps.tree.prepareWorkingDir(workingDir)
  const instance = p.type.create()
  control.instance = instance
  const conduit = new RunConduit(deps.conduitDeps, {
    owner,
    taskId: task.taskId,
    workerId: deps.ctx.instanceId,
    workingDir,
    signal,
    lastPublish: p.row.lastPublish === null ? null : new Date(p.row.lastPublish)
  })
  let outcome: Outcome
  try {
    if (typeof instance.publishRepo !== 'function') throw new Error(`distributor type "${p.type.id}" publishes nothing`)
    signal.throwIfAborted()
    const config = deps.distributors.configFor(p.type, p.row.config, task.overrideConfig)
    const report: unknown = await instance.publishRepo(p.repo, conduit, config)
    if (!isReport(report)) {
      outcome = failed(ERROR_CODES.PUBLISH_ERROR, `publishRepo of "${p.type.id}" must return conduit.buildSuccessReport(), buildFailureReport() or buildCancelReport()`)
    } else {
      // A failure report after a cancel is the cancel's doing; a success stands (the work is served).
      outcome = report.successFlag || report.canceledFlag || !signal.aborted ? fromReport(report, p.fingerprint) : canceled()
    }
  } catch (err: unknown) {
    if (!signal.aborted) {
      deps.ctx.log.part('pulp:publish:task').error({ err, taskId: task.taskId, repository: owner.repoId, distributor: owner.distributorId }, 'publishRepo threw')
    }
    outcome = signal.aborted ? canceled() : thrown(deps, err, 'publishRepo threw')
  } finally {
    // A cancel seen from now on (the task's end is being recorded, or was just seen in the
    // table by a poll) comes too late for this publish: cancelPublishRepo must not be called.
    control.instance = undefined
    // The working directory goes unless it became the publication.
    if (!conduit.activated) await rm(workingDir, { recursive: true, force: true })
  }
  return { outcome, progressJson: await conduit.flush() }
}

/** Runs one claimed publish task to its end and records the outcome (task, history, last publish). */
export async function runPublishTask (deps: RunDeps, task: Task, control: RunControl): Promise<TaskEnd> {
  const started = task.started ?? now()
  let outcome: Outcome
  let progressJson: string | undefined
  try {
    const planned = await plan(deps, task, task.repoId ?? '', task.distributorId ?? '')
    if ('end' in planned) outcome = planned
    else if (control.controller.signal.aborted) outcome = canceled()
    else ({ outcome, progressJson } = await execute(deps, task, control, planned))
  } catch (err: unknown) {
    deps.ctx.log.part('pulp:publish:task').error({ err, taskId: task.taskId }, 'the publish could not run')
    outcome = thrown(deps, err, 'the publish could not run')
  }
  const end: TaskEnd = { ...outcome.end, progressJson }
  await record(deps.ctx, task, started, end, outcome.history)
  deps.ctx.metrics?.publishDuration.observe((Date.now() - Date.parse(started)) / 1000)
  if (end.state === 'failed') {
    deps.ctx.log.part('pulp:publish:task').error({ taskId: task.taskId, repository: task.repoId, distributor: task.distributorId, error: end.error }, 'publish task failed')
  }
  return end
}

async function record (ctx: PulpContext, task: Task, started: string, end: TaskEnd, entry: Outcome['history']): Promise<void> {
  const completed = now()
  await ctx.knex.transaction(async (trx) => {
    // Not ours any more: another runner took it for interrupted (a long stall); it wrote the end.
    if (!await endTask(trx, task.taskId, ctx.instanceId, end)) return
    if (entry === undefined || task.repoId === null || task.distributorId === null) return
    await history.insertHistory(trx, {
      ...entry, repoId: task.repoId, distributorId: task.distributorId, taskId: task.taskId, started, completed
    })
    if (entry.result === 'success') await distributors.setLastPublish(trx, task.repoId, task.distributorId, completed)
  })
  debug('%s ended %s', task.taskId, end.state)
}
