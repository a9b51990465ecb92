/** The two representations of a project page (PEP 691): cached apart, as the `variant` of the path. */
export type PageVariant = 'json' | 'html'

export const JSON_TYPE = 'application/vnd.pypi.simple.v1+json'
/** PEP 691 makes `text/html` the alias of the v1 HTML form; every pip reads it. */
export const HTML_TYPE = 'text/html; charset=utf-8'

/** What we ask the upstream for each variant: its own form first, the other as a fallback we convert. */
export const UPSTREAM_ACCEPT: Readonly<Record<PageVariant, string>> = Object.freeze({
  json: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1',
  html: 'application/vnd.pypi.simple.v1+html, text/html;q=0.9'
})

const JSON_TYPES = new Set(['application/vnd.pypi.simple.v1+json', 'application/vnd.pypi.simple.latest+json'])
const HTML_TYPES = new Set(['application/vnd.pypi.simple.v1+html', 'application/vnd.pypi.simple.latest+html', 'text/html'])

/**
 * The variant a client's `Accept` prefers (RFC 9110 q-values; a wildcard counts for both
 * forms). A tie, no Accept, or nothing we serve: HTML, which every client reads.
 */
export function pageVariant (accept: string | string[] | undefined): PageVariant {
  const header = Array.isArray(accept) ? accept.join(',') : accept
  if (header === undefined || header === '') return 'html'
  let json = 0
  let html = 0
  for (const part of header.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    let q = 1
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/.exec(p)
      if (m !== null) q = Math.min(1, Number(m[1]) || 0)
    }
    const forJson = JSON_TYPES.has(type) || type === '*/*' || type === 'application/*'
    const forHtml = HTML_TYPES.has(type) || type === '*/*' || type === 'text/*'
    if (forJson) json = Math.max(json, q)
    if (forHtml) html = Math.max(html, q)
  }
  return json > html ? 'json' : 'html'
}
