import { z } from 'zod'
import { ERROR_CODES } from '../errors'
import { doc } from './docs'
import { RemoteHealth } from './remotes'

export const Status = z.object({
  versions: z.object({ pulpMiddleware: z.string(), node: z.string() }),
  database: doc(z.object({ dialect: z.string(), reachable: z.boolean(), writable: z.boolean(), error: z.string().optional() }),
    { description: '`writable`: a write was committed just now (false on a full disk, a read-only database)' }),
  runner: z.object({ state: z.string(), instanceId: z.string(), running: z.int().optional() }),
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
