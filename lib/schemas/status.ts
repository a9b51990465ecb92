import { z } from 'zod'
import { ERROR_CODES } from '../errors'
import { doc } from './docs'
import { jsonObject } from './fields'
import { RemoteHealth } from './remotes'

export const Status = z.object({
  versions: jsonObject(),
  database: jsonObject(),
  runner: jsonObject(),
  disk: z.object({
    artifacts: z.int(),
    tmp: z.int(),
    distributions: doc(z.record(z.string(), z.int()), { description: 'bytes each distribution\'s pull-through cache holds (evicted files not counted)' })
  }).optional(),
  remotes: doc(z.record(z.string(), RemoteHealth), { description: 'each remote\'s upstream health, by name' }).optional()
})

/** Every error answer: `{error: {code, message}}`, never a stack trace. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(Object.values(ERROR_CODES) as [string, ...string[]]),
    message: z.string()
  })
})
