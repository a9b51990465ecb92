import os from 'node:os'
import { rm } from 'node:fs/promises'
import createDebug from 'debug'
import type { Knex } from 'knex'
import { insertHistory } from '../storage/history'
import { now } from '../storage/rows'
import { interruptTask, runningTasks } from '../storage/tasks'
import { findWorkers, removeWorker, type Worker } from '../storage/workers'
import type { PublicationTree } from './tree'

const debug = createDebug('pulp:publish:recovery')

export const INTERRUPTED = Object.freeze({
  code: 'ERR_PULP_TASK_INTERRUPTED',
  message: 'interrupted: the process running this publish stopped before it ended'
})

/**
 * Whether a worker still runs: its heartbeat is recent and, on this host, its process exists.
 * The process check catches a killed process at once; the heartbeat catches the rest (other
 * hosts, a reused pid) after `heartbeatTimeout`.
 */
export function isAlive (worker: Worker | undefined, heartbeatTimeoutSeconds: number): boolean {
  if (worker === undefined) return false
  if (Date.now() - Date.parse(worker.heartbeat) > heartbeatTimeoutSeconds * 1000) return false
  // The same pid is this process: another instance in it is alive while it beats.
  if (worker.hostname !== os.hostname() || worker.pid === process.pid) return true
  try {
    process.kill(worker.pid, 0)
    return true
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Marks tasks left `running` by dead workers as failed ("interrupted"), records them in the
 * history and removes their working directories. Returns how many it recovered.
 */
export async function recoverInterrupted (knex: Knex, tree: PublicationTree, selfId: string, heartbeatTimeout: number): Promise<number> {
  const running = await runningTasks(knex, selfId)
  if (running.length === 0) return 0
  const workers = await findWorkers(knex, [...new Set(running.map((t) => t.workerId).filter((id): id is string => id !== null))])
  const dead = new Set<string | null>()
  let recovered = 0
  for (const task of running) {
    if (task.workerId !== null && isAlive(workers.get(task.workerId), heartbeatTimeout)) continue
    dead.add(task.workerId)
    const won = await knex.transaction(async (trx) => {
      if (!await interruptTask(trx, task.taskId, task.workerId, INTERRUPTED)) return false
      if (task.repoId !== null && task.distributorId !== null) {
        await insertHistory(trx, {
          repoId: task.repoId,
          distributorId: task.distributorId,
          taskId: task.taskId,
          started: task.started ?? task.created,
          completed: now(),
          result: 'error',
          summary: INTERRUPTED.message,
          errorMessage: INTERRUPTED.message
        })
      }
      return true
    })
    if (!won) continue
    recovered++
    if (task.repoId !== null && task.distributorId !== null) {
      await rm(tree.workingDir({ repoId: task.repoId, distributorId: task.distributorId }, task.taskId), { recursive: true, force: true })
    }
    debug('task %s of dead worker %s marked interrupted', task.taskId, task.workerId)
  }
  for (const id of dead) if (id !== null) await removeWorker(knex, id)
  return recovered
}
