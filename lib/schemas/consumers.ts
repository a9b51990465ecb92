import { z } from 'zod'
import { doc } from './docs'
import { id, jsonObject, page, text, timestamp } from './fields'

export const CreateConsumerInput = z.strictObject({
  id: id(),
  displayName: text(255),
  description: text(),
  notes: jsonObject('free-form user data').nullable().optional()
})
export type CreateConsumerInput = z.input<typeof CreateConsumerInput>

export const BindInput = z.strictObject({
  repoId: id(),
  distributorId: id(),
  bindingConfig: jsonObject().nullable().optional()
})
export type BindInput = z.input<typeof BindInput>

export const Consumer = z.object({
  id: z.string(),
  displayName: z.string().nullable(),
  description: z.string().nullable(),
  notes: jsonObject(),
  created: timestamp()
})
export const ConsumerPage = page(Consumer)

export const Binding = z.object({
  consumerId: z.string(),
  repoId: z.string(),
  distributorId: z.string(),
  bindingConfig: jsonObject(),
  created: timestamp(),
  details: doc(z.unknown(), { description: "the distributor's consumer payload" })
})
export const BindingPage = page(Binding)
