import { z } from 'zod'
import { doc } from './docs'
import { bool, id, jsonObject, nullableTimestamp, page, timestamp } from './fields'

export const AddDistributorInput = z.strictObject({
  distributorTypeId: z.string({ error: ' is required' }).min(1, { error: ' is required' }),
  distributorId: doc(id().optional(), { description: 'default: the type id' }),
  distributorConfig: jsonObject().nullable().optional(),
  autoPublish: bool('publish after each content change').optional()
})
export const UpdateDistributorInput = z.strictObject({
  distributorConfig: jsonObject('keys to set; a key set to null is deleted').nullable().optional(),
  autoPublish: bool().optional()
})
export type AddDistributorInput = z.input<typeof AddDistributorInput>
export type UpdateDistributorInput = z.input<typeof UpdateDistributorInput>

export const Distributor = z.object({
  id: z.string(),
  repoId: z.string(),
  distributorTypeId: z.string(),
  config: jsonObject(),
  autoPublish: z.boolean(),
  lastPublish: nullableTimestamp(),
  created: timestamp(),
  updated: timestamp()
})
export const DistributorPage = page(Distributor)

/** The longest `?wait=` a publish request may hold its connection for, in seconds. */
export const MAX_PUBLISH_WAIT = 60

export const PublishRequest = z.strictObject({
  id: doc(id(), { description: 'the distributor id' }),
  overrideConfig: jsonObject('config keys for this publish only').nullable().optional()
})
export type PublishRequest = z.input<typeof PublishRequest>

const waitError = ` must be a number of seconds from 0 to ${MAX_PUBLISH_WAIT}`
/** `?wait=SECONDS` of a publish request. */
export const PublishWait = doc(z.string({ error: waitError })
  .regex(/^\d+(\.\d+)?$/, { error: waitError })
  .refine((v) => Number(v) <= MAX_PUBLISH_WAIT, { error: waitError }),
{ description: `seconds (at most ${MAX_PUBLISH_WAIT}) to wait for the task to end; it answers 200 if it did` })

/** How a publish ended, in its history entry. */
export const PUBLISH_RESULTS = ['success', 'failed', 'error', 'skipped', 'canceled'] as const

export const PublishHistoryEntry = z.object({
  id: z.int(),
  repoId: z.string(),
  distributorId: z.string(),
  taskId: z.string().nullable(),
  started: timestamp(),
  completed: timestamp(),
  result: z.enum(PUBLISH_RESULTS),
  summary: z.unknown(),
  details: z.unknown(),
  errorMessage: z.string().nullable()
})
export const PublishHistoryPage = page(PublishHistoryEntry)
