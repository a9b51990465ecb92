import { ValidationError } from './errors'

/**
 * A path inside a repository or a published tree: relative, no empty, "." or ".." segment,
 * no backslash or NUL, at most 1024 characters.
 */
export function validateRelativePath (value: unknown, field = 'relative_path'): string {
  if (typeof value !== 'string' || value === '') throw new ValidationError(`"${field}" must be a non-empty string`)
  if (value.length > 1024) throw new ValidationError(`"${field}" must be at most 1024 characters`)
  if (value.startsWith('/')) throw new ValidationError(`"${field}" must be relative: remove the leading "/"`)
  if (value.includes('\0')) throw new ValidationError(`"${field}" may not contain a NUL byte`)
  if (value.includes('\\')) throw new ValidationError(`"${field}" may not contain a backslash; use "/" between segments`)
  for (const segment of value.split('/')) {
    if (segment === '') throw new ValidationError(`"${field}" may not contain an empty segment ("//" or a trailing "/")`)
    if (segment === '..' || segment === '.') throw new ValidationError(`"${field}" may not contain a "${segment}" segment`)
  }
  return value
}
