import { z } from 'zod'
import { doc } from './docs'
import { byteLimit, id, page, relativePath, timestamp } from './fields'

const CACHE_MAX_BYTES = 'the most bytes of immutable pulled files kept; beyond it the least recently served lose their bytes and are pulled again when asked (null: no limit)'

const distributionFields = {
  /** Where it is served under `contentPath`, e.g. `mirrors/fedora`: relative, whole segments. */
  basePath: relativePath('where it is served under the content path: relative, whole segments'),
  /** The repository pulled content joins (its `auto_publish` distributors then publish); null for none. */
  repository: doc(id().nullable(), { description: 'the repository pulled content joins' }),
  /** The remote that fills what the static tree lacks; null for none. */
  remote: doc(id().nullable(), { description: 'the remote that fills what the static tree lacks' }),
  cacheMaxBytes: byteLimit(CACHE_MAX_BYTES)
}

export const UpdateDistributionInput = z.strictObject(distributionFields).partial()
export const CreateDistributionInput = z.strictObject({
  name: id(), ...UpdateDistributionInput.shape, basePath: distributionFields.basePath
})
export type UpdateDistributionInput = z.input<typeof UpdateDistributionInput>
export type CreateDistributionInput = z.input<typeof CreateDistributionInput>

export const Distribution = z.object({
  name: z.string(),
  basePath: z.string(),
  repository: z.string().nullable(),
  remote: z.string().nullable(),
  cacheMaxBytes: byteLimit(CACHE_MAX_BYTES),
  created: timestamp(),
  updated: timestamp()
})
export const DistributionPage = page(Distribution)

export const Reclaimed = z.object({
  files: doc(z.int(), { description: 'files whose bytes were evicted' }),
  bytes: doc(z.int(), { description: 'bytes freed' }),
  cached: doc(z.int(), { description: 'bytes the distribution\'s cache holds now' }),
  busy: doc(z.boolean(), { description: 'another instance was evicting for the same remote: nothing was done here' })
})
