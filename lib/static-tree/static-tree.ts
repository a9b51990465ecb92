import { lstatSync, type Stats } from 'node:fs'
import path from 'node:path'
import createDebug from 'debug'
import type { NextFunction } from 'express'
import { pathOf, schemeOf, sendError, sendRedirect, type ContentRequest as Request, type ContentResponse as Response } from '../http/request'
import { ERROR_CODES, errorBody, httpStatusOf, NotFoundError } from '../errors'
import { realpath, stat } from '../http/fast-fs'
import { sendListing } from '../http/listing'
import { displayPathOf, parseRequestPath, slashRedirectLocation, splitTarget, type ParseOptions, type RequestPath } from '../http/paths'
import { isWithin, openedWithin } from '../http/containment'
import { absentGuard, fileGuard, ResolutionCache } from './resolution-cache'
import type { KeptFile } from '../http/kept-bodies'
import type { FrontServer } from '../http/accel'
import { FileChangedError, sendFile, type WholeBodies } from '../http/send-file'

const debug = createDebug('pulp:content:static')

/** fs errors that a request path can cause: each one means "nothing servable here". */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'EINVAL'])

const ARTIFACT_PATH = /^([0-9a-f]{2})[/\\]([0-9a-f]{62})$/

export interface StaticTreeOptions {
  /** Root of `artifacts/`, `publications/` and `publish/`. */
  dataDir: string
  /** Whether directories get listings (else 404). */
  indexes: boolean
  /** Files served, first found wins, for a directory asked with its slash (default none). */
  index?: readonly string[]
  /** Cache-Control for files, or `false` for none. */
  cacheControl: string | false
  /** Hands large files to the front server (the `accel` option); omitted: every file is sent here. */
  accel?: FrontServer
  /** The instance's budget for bodies read whole; omitted: only small ones are. */
  whole?: WholeBodies
  /** Counts each answer (`static`) and its body bytes; omitted: nothing counted. */
  counts?: { static: number, servedBytes: number }
}

export interface StaticTreeHandler {
  (req: Request, res: Response, next: NextFunction): Promise<void>
  /**
   * The same for a path its caller has parsed already (a GET or HEAD): answers, or resolves
   * `false` when nothing here is servable; rejects for a caller's error handler. A path the
   * cache knows missing (its guard checked) is `false` at once, not a promise: a pull-through
   * HIT pays no await for the tree it is not in.
   */
  serve: (req: Request, res: Response, parsed: RequestPath) => Promise<boolean> | false
}

type RootName = 'publications' | 'artifacts' | 'http' | 'https'

interface Found {
  real: string
  stat: Stats
  allowed: (realPath: string) => boolean
  artifacts: string | undefined
  /** The cache entry it came from or went into (its key, its file), dropped if the file turns out to be gone. */
  cacheKey: string | undefined
  entry: KeptFile | undefined
}

/**
 * Serves GET and HEAD from `<dataDir>/publish/http/` (or `https/` for a request that came over https), with
 * send-grade file semantics and directory listings. A symlink is followed only when its real
 * target lies inside `publications/`, `artifacts/` or the subtree itself; anything else is
 * not found. Not found calls `next()` without an error so a later layer can answer; a bad
 * path answers 400 or 404 itself; other methods get 405.
 *
 * Defaults come from the factory: `indexes: true`, `index: ['index.html']`,
 * `cacheControl: 'public, max-age=0, must-revalidate'` (`index` is none when left out here).
 *
 * @example
 * app.use('/content', createStaticTree({ dataDir: './pulp-data', indexes: true, cacheControl: 'no-cache' }))
 */
export function createStaticTree (options: StaticTreeOptions): StaticTreeHandler {
  const dataDir = path.resolve(options.dataDir)
  const { indexes, counts } = options
  // One object for every file sent: sendFile reads it, never copies it.
  const sending = { cacheControl: options.cacheControl, accel: options.accel, whole: options.whole }
  const index = options.index ?? []
  const wanted: Readonly<Record<RootName, string>> = Object.freeze({
    publications: path.join(dataDir, 'publications'),
    artifacts: path.join(dataDir, 'artifacts'),
    http: path.join(dataDir, 'publish', 'http'),
    https: path.join(dataDir, 'publish', 'https')
  })
  // Real paths of the roots, learnt once each exists (a new dataDir has none of them yet).
  const known: Partial<Record<RootName, string>> = {}
  const cache = new ResolutionCache()

  async function learn (name: RootName): Promise<string | undefined> {
    // Until something is published, publish/<scheme> does not exist: one lstat (a few µs)
    // says so, where a realpath would cost every request a thread-pool round trip.
    try {
      if (lstatSync(wanted[name], { throwIfNoEntry: false }) === undefined) return undefined
      known[name] = await realpath(wanted[name])
    } catch (err: unknown) {
      debug('root %s not usable yet: %s', name, codeOf(err))
    }
    return known[name]
  }

  /** The root paths may lie in once `base` is known: the tree, publications, artifacts. */
  function allowedBelow (base: string): (real: string) => boolean {
    const { publications, artifacts } = known
    return (real) => isWithin(real, base) ||
      (publications !== undefined && isWithin(real, publications)) ||
      (artifacts !== undefined && isWithin(real, artifacts))
  }

  /**
   * What the cache says of a path, its guard checked, without an await: the file, `null` for
   * nothing here, undefined when it has to be resolved (roots not learnt yet included).
   */
  function cached (segments: string[], scheme: 'http' | 'https'): Found | null | undefined {
    const base = known[scheme]
    if (base === undefined || known.publications === undefined || known.artifacts === undefined) return undefined
    const key = prefixKey(scheme, segments, segments.length)
    const entry = cache.get(key)
    if (entry === undefined) return undefined
    return entry.kind === 'absent' ? null : foundIn(entry.file, base, key)
  }

  function foundIn (file: KeptFile, base: string, key: string): Found {
    return { real: file.path, stat: file.stat, allowed: allowedBelow(base), artifacts: known.artifacts, cacheKey: key, entry: file }
  }

  async function find (segments: string[], secure: boolean): Promise<Found | undefined> {
    const scheme = secure ? 'https' : 'http'
    const hit = cached(segments, scheme)
    if (hit !== undefined) return hit ?? undefined
    // Known roots cost nothing: no await on the hot path.
    const base = known[scheme] ?? await learn(scheme)
    if (base === undefined) return undefined
    if (known.publications === undefined) await learn('publications')
    const artifacts = known.artifacts ?? await learn('artifacts')
    const allowed = allowedBelow(base)
    const key = prefixKey(scheme, segments, segments.length)
    const entry = cache.get(key)
    if (entry !== undefined) {
      return entry.kind === 'absent' ? undefined : foundIn(entry.file, base, key)
    }
    // A prefix known missing (a distribution's base path with nothing published, say) answers
    // for every path below it: a first request for a new path needs no realpath either. A path
    // asked for again is remembered under the prefix's guard, so its next request is answered
    // by `cached` at once, as one worked out by absentGuard is (a pull-through HIT below a
    // base path whose first miss was another path: benches 12 and 13).
    for (let depth = 1; depth < segments.length; depth++) {
      const prefix = cache.get(prefixKey(scheme, segments, depth))
      if (prefix?.kind === 'absent') {
        if (cache.admit(key)) cache.set(key, prefix)
        return undefined
      }
    }
    let real: string
    let st: Stats
    try {
      real = await realpath(path.join(base, ...segments))
      if (!allowed(real)) {
        debug('refused %s: its target is outside the roots', segments.join('/'))
        return undefined
      }
      st = await stat(real)
    } catch (err: unknown) {
      const code = codeOf(err)
      if (!NOT_FOUND_CODES.has(code)) throw err
      // Worked out on the second miss of a path, or of any path under the same first segment.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && (cache.admit(key) || (segments.length > 1 && cache.admit(prefixKey(scheme, segments, 1))))) {
        const missing = await absentGuard(base, segments)
        if (missing !== undefined) {
          cache.set(key, { kind: 'absent', guard: missing.guard })
          if (missing.depth < segments.length) cache.set(prefixKey(scheme, segments, missing.depth), { kind: 'absent', guard: missing.guard })
        }
      }
      return undefined
    }
    // Only regular files are cached: directories change whenever a publication comes or goes.
    if (st.isFile() && cache.admit(key)) {
      const guard = await fileGuard(base, segments, real, artifacts)
      if (guard !== undefined) {
        const entry = cache.fileEntry(real, st, guard)
        cache.set(key, entry)
        return { real, stat: st, allowed, artifacts, cacheKey: key, entry: entry.file }
      }
    }
    return { real, stat: st, allowed, artifacts, cacheKey: undefined, entry: undefined }
  }

  function serveParsed (req: Request, res: Response, parsed: RequestPath): Promise<boolean> | false {
    // `@scope%2fname` is a registry's name for a package, never a published file's.
    if (parsed.scopedName !== undefined) return false
    const scheme = schemeOf(req)
    const hit = cached(parsed.segments, scheme)
    // Known missing (a pull-through distribution's path, say), its guard checked: no await at all.
    if (hit === null) return false
    return serveFound(req, res, parsed, scheme === 'https', hit)
  }

  async function serveFound (req: Request, res: Response, parsed: RequestPath, secure: boolean, hit: Found | undefined): Promise<boolean> {
    const found = hit ?? await find(parsed.segments, secure)
    if (found === undefined) return false
    const served = await serve(req, res, found, parsed.segments, parsed.trailingSlash)
    if (served !== 'stale') return served
    // A remembered file that is not what it was: once more, resolved and checked afresh.
    const again = await find(parsed.segments, secure)
    return again !== undefined && await serve(req, res, again, parsed.segments, parsed.trailingSlash) === true
  }

  const handler = async function staticTree (req: Request, res: Response, next: NextFunction): Promise<void> {
    const parsed = parseContentRequest(req, res)
    if (parsed === undefined) return
    let served: boolean
    try {
      served = await serveParsed(req, res, parsed)
    } catch (err: unknown) {
      next(err)
      return
    }
    if (!served) next()
  }
  return Object.assign(handler, { serve: serveParsed })

  /**
   * Answers for what was found; `false` when it turns out not to be servable, `'stale'` when
   * a cached file has changed (its entry is dropped: resolving again may find it).
   */
  async function serve (req: Request, res: Response, found: Found, segments: string[], trailingSlash: boolean): Promise<boolean | 'stale'> {
    if (found.stat.isDirectory()) {
      // The slash decides how relative links in a listing resolve, so it is judged on the
      // URL the client sent (the path below the mount is "/" for the mount point itself, slash or not; a
      // path ending in a `.` segment names the directory as a slash would).
      if (!(trailingSlash && segments.length > 0) && !splitTarget(req.originalUrl).pathname.endsWith('/')) {
        sendRedirect(req, res, slashRedirectLocation(req.originalUrl))
        return true
      }
      // As serve-static and nginx do: a directory's index file, served as itself (its own
      // ETag, ranges and conditionals), found under the same symlink rules as any file.
      for (const name of index) {
        const below = [...segments, name]
        const file = await find(below, schemeOf(req) === 'https')
        if (file !== undefined && file.stat.isFile() && await serve(req, res, file, below, false)) return true
      }
      if (!indexes) {
        sendError(res, 404, errorBody(new NotFoundError('directory listings are disabled')).error)
        return true
      }
      await sendListing(req, res, found.real, {
        displayPath: displayPathOf(req.originalUrl),
        isRoot: segments.length === 0,
        isAllowed: found.allowed
      })
      if (counts !== undefined) counts.static++
      return true
    }
    // A FIFO or device would block a reader forever; a file asked for as a directory is not there.
    if (!found.stat.isFile() || trailingSlash) return false
    const etag = found.artifacts === undefined ? undefined : artifactEtag(found.real, found.artifacts)
    const { entry } = found
    // The path was checked, not the file: its first open proves that what the path led to lies
    // inside the roots, and sendFile holds every later open to that file's device and inode.
    const accept = entry?.verified === true
      ? undefined
      : (fd: number): boolean => {
          const inside = openedWithin(fd, found.allowed)
          if (inside && entry !== undefined) entry.verified = true
          return inside
        }
    try {
      const memo = entry?.memo()
      const target = { path: found.real, stat: found.stat, etag, name: segments[segments.length - 1], accept, memo }
      const sent = await sendFile(req, res, target, sending)
      if (counts !== undefined) {
        counts.static++
        counts.servedBytes += sent
      }
    } catch (err: unknown) {
      // Removed, made unreadable, or replaced (by a link, say) since it was checked; nothing was sent yet.
      if (err instanceof FileChangedError || NOT_FOUND_CODES.has(codeOf(err))) {
        debug('%s changed since it was checked: %s', found.real, (err as Error).message)
        if (found.cacheKey === undefined) return false
        cache.delete(found.cacheKey)
        return entry?.verified === true ? 'stale' : false
      }
      throw err
    }
    return true
  }
}

/**
 * The cache key of the first `depth` segments (all of them: the whole path's). Segments hold
 * neither "/" nor NUL (parseRequestPath refuses them), so a key is unambiguous.
 */
function prefixKey (scheme: string, segments: readonly string[], depth: number): string {
  return `${scheme}\0${segments.slice(0, depth).join('/')}`
}

/** `"<sha256>"` for `artifacts/<sha256[0:2]>/<sha256[2:]>`, the file's content address. */
function artifactEtag (real: string, artifacts: string): string | undefined {
  if (!isWithin(real, artifacts) || real === artifacts) return undefined
  const match = ARTIFACT_PATH.exec(real.slice(artifacts.length + 1))
  return match === null ? undefined : `"${match[1]}${match[2]}"`
}

/**
 * The parsed path of a content request, or undefined once a method other than GET and HEAD
 * got its 405, or a bad path its 400 or 404.
 */
export function parseContentRequest (req: Request, res: Response, options: ParseOptions = {}): RequestPath | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, { code: ERROR_CODES.METHOD_NOT_ALLOWED, message: `${req.method} is not allowed here` }, { allow: 'GET, HEAD' })
    return undefined
  }
  const path = pathOf(req)
  const parsed = parseRequestPath(path, options)
  if (!parsed.ok) {
    debug('bad path %j: %s', path, parsed.error.message)
    sendError(res, httpStatusOf(parsed.error), errorBody(parsed.error).error)
    return undefined
  }
  return parsed
}

function codeOf (err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return ''
}
