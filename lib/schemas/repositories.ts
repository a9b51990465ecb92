import { z } from 'zod'
import { id, jsonObject, nullableTimestamp, page, text, timestamp } from './fields'

const repositoryFields = {
  displayName: text(255),
  description: text(),
  notes: jsonObject('free-form user data').nullable().optional()
}

export const CreateRepositoryInput = z.strictObject({ id: id(), ...repositoryFields })
export const UpdateRepositoryInput = z.strictObject(repositoryFields)
export type CreateRepositoryInput = z.input<typeof CreateRepositoryInput>
export type UpdateRepositoryInput = z.input<typeof UpdateRepositoryInput>

export const Repository = z.object({
  id: z.string(),
  displayName: z.string().nullable(),
  description: z.string().nullable(),
  notes: jsonObject(),
  contentUnitCounts: z.record(z.string(), z.int()),
  totalRepositoryUnits: z.int(),
  lastUnitAdded: nullableTimestamp(),
  lastUnitRemoved: nullableTimestamp(),
  contentVersion: z.int(),
  created: timestamp(),
  updated: timestamp()
})
export const RepositoryPage = page(Repository)
