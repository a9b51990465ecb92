import { rm } from 'node:fs/promises'
import createDebug from 'debug'
import type { Knex } from 'knex'
import { ERROR_CODES } from '../errors'
import type { Dialect } from '../storage/connection'
import { insertHistory } from '../storage/history'
import { now } from '../storage/rows'
import { setLastPublish } from '../storage/distributors'
import { endOrphanTask, interruptTask, runningTasks, type Task, type TaskError } from '../storage/tasks'
import { databaseNow, findWorkers, isAlive, pruneWorkers, removeWorker, type Observer } from '../storage/workers'
import type { PublicationTree } from './tree'

const debug = createDebug('pulp:publish:recovery')

// Where they were before liveness moved next to the worker rows; pull-through imports them here.
export { isAlive, localHost, type Observer } from '../storage/workers'

export const INTERRUPTED = Object.freeze({
  code: ERROR_CODES.TASK_INTERRUPTED,
  message: 'interrupted: the process running this publish stopped before it ended'
})

/**
 * Ends a running task of `task.workerId` and records it in the history: as failed with `error`,
 * unless its publication is already served (the process stopped after the link switch), in which
 * case as the success that is served, so the record says what readers get. Removes its working
 * directory. False when the task had already ended or changed hands.
 */
export async function interrupt (knex: Knex, tree: PublicationTree, task: Task, error: TaskError = INTERRUPTED): Promise<boolean> {
  const owner = task.repoId !== null && task.distributorId !== null ? { repoId: task.repoId, distributorId: task.distributorId } : undefined
  const links = owner === undefined ? [] : await tree.linksServing(tree.publicationDir(owner, task.taskId))
  const won = await knex.transaction(async (trx) => {
    const completed = now()
    if (links.length > 0 && owner !== undefined) {
      // The distributor's report died with the process; no fingerprint, so the next publish
      // is not skipped and finishes whatever came after the switch (scratchpad, other links).
      const summary = `${error.message}; the publication had been activated and is served (at ${links.join(', ')})`
      const result = { result: 'success', summary, details: { served: links } }
      if (!await endOrphanTask(trx, task.taskId, task.workerId, { state: 'finished', result, error: null })) return false
      await insertHistory(trx, { ...owner, taskId: task.taskId, started: task.started ?? task.created, completed, result: 'success', summary, details: { served: links } })
      await setLastPublish(trx, owner.repoId, owner.distributorId, completed)
      return true
    }
    if (!await interruptTask(trx, task.taskId, task.workerId, error)) return false
    if (owner !== undefined) {
      await insertHistory(trx, {
        ...owner,
        taskId: task.taskId,
        started: task.started ?? task.created,
        completed,
        result: 'error',
        summary: error.message,
        errorMessage: error.message
      })
    }
    return true
  })
  if (won && task.repoId !== null && task.distributorId !== null) {
    await rm(tree.workingDir({ repoId: task.repoId, distributorId: task.distributorId }, task.taskId), { recursive: true, force: true })
  }
  return won
}

/**
 * Marks tasks left `running` by dead workers as failed ("interrupted"), records them in the
 * history and removes their working directories. Returns how many it recovered.
 */
export async function recoverInterrupted (knex: Knex, dialect: Dialect, tree: PublicationTree,
  self: { id: string, host: string }, heartbeatTimeout: number): Promise<number> {
  const running = await runningTasks(knex, self.id)
  const observer: Observer = { host: self.host, pid: process.pid, now: await databaseNow(knex, dialect) }
  if (running.length === 0) {
    // Rows of instances long gone (stopped without close(), or crashed while idle).
    await pruneWorkers(knex, new Date(observer.now - heartbeatTimeout * 1000).toISOString())
    return 0
  }
  const workers = await findWorkers(knex, [...new Set(running.map((t) => t.workerId).filter((id): id is string => id !== null))])
  const dead = new Set<string>()
  let recovered = 0
  for (const task of running) {
    if (task.workerId !== null && isAlive(workers.get(task.workerId), heartbeatTimeout, observer)) continue
    if (task.workerId !== null) dead.add(task.workerId)
    if (!await interrupt(knex, tree, task)) continue
    recovered++
    debug('task %s of dead worker %s marked interrupted', task.taskId, task.workerId)
  }
  for (const id of dead) {
    const seen = workers.get(id)
    if (seen !== undefined) await removeWorker(knex, id, seen.heartbeat)
  }
  return recovered
}
