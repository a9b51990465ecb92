import type { Request, Response } from 'express'
import { escapeHtml, htmlPage, sendGeneratedPage } from './http/listing'
import type { ResolvedOptions } from './options'
import { version } from './version'

/** Where the landing page points: paths below the mount point, or null without an API. */
export interface LandingLinks {
  status: string | null
  openapi: string | null
  content: string
}

export function landingLinks (base: string, options: Pick<ResolvedOptions, 'apiPath' | 'contentPath'>): LandingLinks {
  const api = options.apiPath === false ? null : `${base}${options.apiPath}`
  return {
    status: api === null ? null : `${api}/status`,
    openapi: api === null ? null : `${api}/openapi.json`,
    content: `${base}${options.contentPath}/`
  }
}

/**
 * `GET` of the mount point itself (`/pulp`, `/pulp/`): a page that says what this is and links
 * the API's status, its OpenAPI description and the content root. HTML when the client asks for
 * it (a browser), JSON otherwise (curl's `*\/*` included).
 */
export function sendLanding (req: Request, res: Response, options: Pick<ResolvedOptions, 'apiPath' | 'contentPath'>): void {
  const links = landingLinks(req.baseUrl, options)
  const html = req.accepts(['json', 'html']) === 'html'
  sendGeneratedPage(req, res, html ? renderLanding(links) : JSON.stringify({ name: 'pulp-middleware', version, links }), !html)
}

function renderLanding (links: LandingLinks): string {
  const item = (href: string | null, text: string): string[] =>
    href === null ? [] : [`<li><a href="${escapeHtml(href)}">${escapeHtml(text)}</a> <code>${escapeHtml(href)}</code></li>`]
  return htmlPage(`pulp-middleware ${escapeHtml(version)}`, 'body{font-family:sans-serif;max-width:40em;margin:2em auto}code{color:#555}', [
    '<ul>',
    ...item(links.status, 'API status'),
    ...item(links.openapi, 'OpenAPI description'),
    ...item(links.content, 'Published content'),
    '</ul>'
  ])
}
