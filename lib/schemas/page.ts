import { z } from 'zod'
import { doc } from './docs'
import { DEFAULT_LIMIT, MAX_LIMIT } from './limits'

const whole = (max: number): z.ZodInt => z.int({ error: ' must be a whole number >= 0' })
  .min(0, { error: ' must be a whole number >= 0' })
  .max(max, { error: ` must be at most ${max}` })

/** `?limit=` and `?offset=` of list endpoints. */
export const PageQuery = z.object({
  limit: doc(whole(MAX_LIMIT), { description: 'results per page', default: DEFAULT_LIMIT }),
  offset: doc(whole(Number.MAX_SAFE_INTEGER), { description: 'results to skip', default: 0 })
})
export type PageQuery = z.output<typeof PageQuery>
