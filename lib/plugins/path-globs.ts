/**
 * Globs over relative paths, as a remote's `metadata_patterns` takes them: `*` matches within
 * one segment, a `**` segment matches any number of segments (none included). Every other
 * character is literal, so a pattern never means more than it says.
 */
export type PathMatcher = (relativePath: string) => boolean

const SPECIAL = /[.+?^${}()|[\]\\]/g

function segmentSource (segment: string): string {
  return segment.split('*').map((part) => part.replace(SPECIAL, '\\$&')).join('[^/]*')
}

function patternSource (pattern: string): string {
  const segments = pattern.split('/')
  let source = ''
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1
    if (segment === '**') source += last ? '.*' : '(?:[^/]*/)*'
    else source += segmentSource(segment) + (last ? '' : '/')
  })
  return source
}

/** One matcher for a list of globs; an empty list matches nothing. */
export function compilePathGlobs (patterns: readonly string[]): PathMatcher {
  if (patterns.length === 0) return () => false
  const re = new RegExp(`^(?:${patterns.map(patternSource).join('|')})$`, 's')
  return (relativePath) => re.test(relativePath)
}
