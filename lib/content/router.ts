import type { NextFunction } from 'express'
import { ERROR_CODES, errorBody, ValidationError } from '../errors'
import type { PulpServices } from '../services'
import { sendEntries } from '../http/listing'
import { displayPathOf, ENCODED_SEPARATOR } from '../http/paths'
import { pathOf, sendError, type ContentRequest, type ContentResponse } from '../http/request'
import { createStaticTree, parseContentRequest } from '../static-tree/static-tree'

export type ContentHandler = (req: ContentRequest, res: ContentResponse, next: NextFunction) => Promise<void>

/**
 * Content under `contentPath`: the static tree first, then distributions' pull-through, then
 * 404. One handler parses the path once and calls each step directly: a warm pull-through HIT
 * pays no second router layer or parse.
 */
export function createContentRouter (services: PulpServices): ContentHandler {
  const { options } = services.ctx
  const counts = services.ctx.metrics?.content
  const staticTree = createStaticTree({
    dataDir: options.dataDir,
    indexes: options.indexes,
    index: options.index,
    cacheControl: options.cacheControl,
    accel: services.ctx.accel,
    whole: services.ctx.wholeBodies,
    counts
  })
  const { pullThrough } = services
  const log = services.ctx.log.part('pulp:content')
  return async function content (req, res, next) {
    const parsed = parseContentRequest(req, res, { scopedNames: true })
    if (parsed === undefined) return
    try {
      const fromTree = staticTree.serve(req, res, parsed)
      if ((fromTree !== false && await fromTree) || await pullThrough.serve(req, res, parsed)) return
    } catch (err: unknown) {
      // The host app's error handler answers; the cause is ours to report.
      if (counts !== undefined) counts.error++
      log.error({ err, method: req.method, url: req.originalUrl }, 'content request failed')
      next(err)
      return
    }
    // Only a remote type that takes scoped names (npm) answers for `@scope%2fname`.
    if (parsed.scopedName !== undefined) {
      sendError(res, 400, errorBody(new ValidationError(`${ENCODED_SEPARATOR} (an npm scoped name, @scope%2fname, only under a distribution whose remote type takes one, such as npm)`)).error)
      return
    }
    // Before the first publish there is no tree at all: its root is still a directory, empty.
    if (parsed.segments.length === 0 && options.indexes) {
      if (counts !== undefined) counts.static++
      return sendEntries(req, res, [], { displayPath: displayPathOf(req.originalUrl), isRoot: true })
    }
    if (counts !== undefined) counts.not_found++
    sendError(res, 404, { code: ERROR_CODES.NOT_FOUND, message: `nothing is published at ${pathOf(req)}` })
  }
}
