/** PEP 508: a project name starts and ends with a letter or digit; `.`, `_` and `-` may join them. */
const VALID = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i

/** PEP 503: runs of `-`, `_` and `.` are one `-`, letters are lower case (`Foo_Bar` -> `foo-bar`). */
export function normalizeProjectName (name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase()
}

/** The normalized name, or null for something that is no project name (it is never asked upstream). */
export function projectOf (segment: string): string | null {
  return VALID.test(segment) ? normalizeProjectName(segment) : null
}

/** A file name an index may bind: one path segment, nothing a path parser would read otherwise. */
export function isFileName (name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && name.length <= 255 && !/[/\\\0]/.test(name)
}
