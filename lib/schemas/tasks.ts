import { z } from 'zod'
import { doc } from './docs'
import { id, jsonObject, nullableTimestamp, page, timestamp } from './fields'
import { TASK_STATES } from './limits'

export const Task = z.object({
  taskId: z.string(),
  taskType: z.string(),
  state: z.enum(TASK_STATES),
  repoId: z.string().nullable(),
  distributorId: z.string().nullable(),
  overrideConfig: jsonObject(),
  progressReport: z.unknown(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  workerId: z.string().nullable(),
  cancelRequested: z.boolean(),
  created: timestamp(),
  started: nullableTimestamp(),
  finished: nullableTimestamp()
})
export const TaskPage = page(Task)

/** `?state=` of the task list: one state, or several separated by commas. */
export const TaskStateQuery = doc(z.string(), { description: `one of ${TASK_STATES.join(', ')}, or several separated by commas` })

/** The task list's filters by id: given once each, an id's rules. */
export const TaskFilters = z.object({
  repoId: id('only the tasks of this repository').optional(),
  distributorId: id('only the tasks of this distributor').optional()
})

export const OrphanCleanupInput = z.strictObject({
  orphanProtectionTime: doc(z.int({ error: ' must be a whole number of minutes >= 0' }).min(0, { error: ' must be a whole number of minutes >= 0' }).optional(),
    { description: 'minutes; artifacts younger than this stay (default 1440)' })
})
export type OrphanCleanupInput = z.input<typeof OrphanCleanupInput>
