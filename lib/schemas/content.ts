import { z } from 'zod'
import { doc } from './docs'
import { page, relativePath, timestamp } from './fields'
import { MAX_FILES_PER_UPLOAD } from './limits'

export const Unit = z.object({
  id: z.string(),
  typeId: z.string(),
  relativePath: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.int().min(0),
  created: timestamp(),
  added: timestamp()
})
export const UnitPage = page(Unit)

/** A multipart upload as the OpenAPI document describes it (multer reads the parts). */
export const Upload = doc(z.object({
  file: doc(z.array(doc(z.string(), { format: 'binary' })).min(1).max(MAX_FILES_PER_UPLOAD), { description: `one or more file parts (at most ${MAX_FILES_PER_UPLOAD})` }),
  relativePath: doc(z.array(z.string()).optional(), { description: 'each placed before its file part; a part without one takes its file name' })
}), { description: 'all parts become units, or none do (a bad relative_path answers 400 naming the part)' })

export const UploadResult = z.object({ units: z.array(Unit) })

/** `?relative_path=` of the content list and of removal by path. */
export const ContentPath = relativePath('the unit at this path in the repository')
