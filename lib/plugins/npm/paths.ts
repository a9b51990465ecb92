/**
 * The paths an npm registry answers that a mirror serves: a packument at the package's name
 * (`left-pad`, `@types/node`), and a tarball below it (`left-pad/-/left-pad-1.3.0.tgz`,
 * `@types/node/-/node-20.1.0.tgz`). Anything else (`-/v1/search`, `-/whoami`, a name npm
 * would refuse) is no path of a mirror.
 */

/** npm's longest name, scope included (validate-npm-package-name). */
const MAX_NAME = 214

// URL-safe characters, no leading dot or underscore: what the registry accepts in a name or
// a scope. Upper case is allowed for the names published before npm refused it.
const NAME_PART = /^[A-Za-z0-9~-][A-Za-z0-9._~-]*$/

// A tarball's file name: `<name without scope>-<version>.tgz`, versions being semver (`+`, `.`).
const TARBALL_FILE = /^[A-Za-z0-9~-][A-Za-z0-9._~+-]*\.tgz$/

export type NpmPath =
  | { kind: 'packument', name: string }
  | { kind: 'tarball', name: string, file: string }

/** The package name `segments` start with, and how many segments it took (1 or 2), or null. */
function nameAt (segments: readonly string[]): { name: string, length: 1 | 2 } | null {
  const [first, second] = segments
  if (first === undefined) return null
  if (first.startsWith('@')) {
    if (second === undefined || !NAME_PART.test(first.slice(1)) || !NAME_PART.test(second)) return null
    const name = `${first}/${second}`
    return name.length <= MAX_NAME ? { name, length: 2 } : null
  }
  return NAME_PART.test(first) && first.length <= MAX_NAME ? { name: first, length: 1 } : null
}

/** What a relative path under an npm distribution names, or null for a path no registry mirror serves. */
export function npmPathOf (relativePath: string): NpmPath | null {
  const segments = relativePath.split('/')
  const found = nameAt(segments)
  if (found === null) return null
  const rest = segments.slice(found.length)
  if (rest.length === 0) return { kind: 'packument', name: found.name }
  if (rest.length === 2 && rest[0] === '-' && TARBALL_FILE.test(rest[1])) return { kind: 'tarball', name: found.name, file: rest[1] }
  return null
}

/** A packument's URL on a registry whose root is `registryUrl`: a scoped name's slash encoded, as npm sends it. */
export function packumentUrl (registryUrl: string, name: string): string {
  const url = new URL(registryUrl)
  url.hash = ''
  const dir = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`
  url.pathname = dir + name.replace('/', '%2f')
  return url.toString()
}

/** The relative path of a version's tarball: `<name>/-/<name without scope>-<version>.tgz`, or null for a version no path can name. */
export function tarballPath (name: string, version: string): string | null {
  const file = `${name.slice(name.indexOf('/') + 1)}-${version}.tgz`
  return TARBALL_FILE.test(file) ? `${name}/-/${file}` : null
}
