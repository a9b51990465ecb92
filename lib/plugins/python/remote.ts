import createDebug from 'debug'
import { Remote, type Freshness, type RewriteContext, type RewrittenMetadata, type UpstreamContext, type UpstreamTarget } from '../remote'
import type { TypeMetadata } from '../types'
import { Memo } from '../memo'
import { isFileName, projectOf } from './names'
import { HTML_TYPE, JSON_TYPE, pageVariant, UPSTREAM_ACCEPT, type PageVariant } from './negotiate'
import { bindingsOf, parseHtmlPage, parseJsonPage, renderHtmlPage, renderJsonPage } from './page'

const debug = createDebug('pulp:plugins:python')

/**
 * The built-in `python` remote type: a PEP 503 / PEP 691 simple index (`url` is its root, as
 * `pip --index-url` takes it, e.g. `https://pypi.org/simple/`).
 *
 * - `<project>/` is a project page, metadata (TTL, revalidation, serve-stale), in two
 *   variants chosen by the client's `Accept`: PEP 691 JSON or HTML. Either is made from
 *   whichever form the upstream sends. A project name is normalized (PEP 503): `Foo_Bar/` is
 *   served as `foo-bar/`, which is what the upstream is asked for.
 * - The page is rewritten: each file links to `../<project>/<file>` under the distribution,
 *   keeping its hash fragment, `data-requires-python`, `data-yanked` and the core metadata
 *   attributes; each file (and its `<file>.metadata`) is bound to its upstream URL and digest.
 * - `<project>/<file>` is served only when a page bound it (else 404, nothing asked
 *   upstream), checked against the page's sha256 as it streams; files are immutable units.
 *
 * Pages are cached even under the `streamed` policy: their links must be rewritten for the
 * files to come back through the distribution. The index root page is not served.
 *
 * @example
 * await pulp.remotes.create({ name: 'pypi', url: 'https://pypi.org/simple/', remoteTypeId: 'python' })
 * await pulp.distributions.create({ name: 'pypi', basePath: 'pypi', remote: 'pypi' })
 * // pip install --index-url http://HOST/pulp/content/pypi/ requests
 */
export class PythonRemote extends Remote {
  /** Project page URLs upstream, by normalized project name. */
  readonly #pageUrls = new Memo<string>()
  /** What each relative path names, parsed once (every warm HIT asks again). */
  readonly #paths = new Memo<PythonPath | null>(10_000)

  static metadata (): TypeMetadata {
    return { id: 'python', displayName: 'Python package index (PEP 503 / 691)' }
  }

  override getFreshness (relativePath: string): Freshness {
    return relativePath.endsWith('/') ? 'metadata' : super.getFreshness(relativePath)
  }

  override async getUpstreamTarget (relativePath: string, context: UpstreamContext): Promise<UpstreamTarget | null> {
    const named = this.#paths.get(relativePath, pathOf)
    if (named === null) return null
    const { project, file } = named
    if (file === undefined) {
      const variant = pageVariant(context.request.headers.accept)
      return { url: this.#pageUrls.get(project, () => this.getRemoteArtifactUrl(`${project}/`)), variant, accept: UPSTREAM_ACCEPT[variant] }
    }
    return await context.readBinding(file)
  }

  override rewriteMetadata (relativePath: string, body: Buffer, context: RewriteContext): RewrittenMetadata {
    const project = projectOf(relativePath.slice(0, relativePath.indexOf('/')))
    if (project === null) throw new Error(`"${relativePath}" is no project page`)
    const text = body.toString('utf8')
    const json = /json/i.test(context.contentType ?? '')
    const page = json ? parseJsonPage(text, context.url) : parseHtmlPage(text, context.url)
    const variant = context.variant as PageVariant
    debug('%s: %s: %d files (%s -> %s)', this.name, relativePath, page.files.length, json ? 'json' : 'html', variant)
    return variant === 'json'
      ? { body: renderJsonPage(project, page), contentType: JSON_TYPE, bindings: bindingsOf(project, page) }
      : { body: renderHtmlPage(project, page), contentType: HTML_TYPE, bindings: bindingsOf(project, page) }
  }
}

/** A project page (`file` undefined), or a file of it by the path its page bound it under (`<project>/<file>`). */
interface PythonPath { project: string, file: string | undefined }

/** What `relativePath` names under a python distribution, or null for nothing this type serves. */
function pathOf (relativePath: string): PythonPath | null {
  const slash = relativePath.indexOf('/')
  if (slash <= 0) return null
  const project = projectOf(relativePath.slice(0, slash))
  const rest = relativePath.slice(slash + 1)
  if (project === null || rest.includes('/')) return null
  if (rest === '') return { project, file: undefined }
  return isFileName(rest) ? { project, file: `${project}/${rest}` } : null
}
