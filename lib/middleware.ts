import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import createDebug from 'debug'
import type { Registry } from 'prom-client'
import { resolveOptions, type PulpOptions } from './options'
import { openConnection } from './storage/connection'
import { migrateLatest } from './storage/migrations'
import { TempSweeper } from './artifacts/temp-sweep'
import { ClosedError, ERROR_CODES, errorBody, httpStatusOf } from './errors'
import { sendError } from './http/request'
import { createServices, type Status } from './services'
import { createApiRouter } from './api/router'
import { createContentRouter } from './content/router'
import { sendLanding } from './landing'
import { createContext } from './core/context'
import type { RepositoryService } from './core/repositories'
import type { DistributorsApi } from './core/distributors'
import type { TaskService } from './core/tasks'
import type { ConsumerService } from './core/consumers'
import type { PublishOptions } from './core/publish'
import type { PluginRegistry } from './plugins/registry'
import { createRegistry } from './plugins/builtins'
import type { Task } from './storage/tasks'
import type { RemoteService } from './core/remotes'
import type { DistributionService } from './core/distributions'
import type { OrphanService } from './core/orphans'

const debug = createDebug('pulp:middleware')

export interface PulpMiddleware extends RequestHandler {
  /** Resolves when migrations are done and the runner has started; rejects if they failed. */
  readonly ready: Promise<void>
  /** Stops the runner, closes remotes' connections and (if we opened it) the database. */
  close: () => Promise<void>
  readonly repositories: RepositoryService
  status: () => Promise<Status>
  /** This instance's plugin types; `registerDistributor`, `registerRemoteType`, `registerContentType`, `register(bundle)`. */
  readonly registry: PluginRegistry
  readonly distributors: DistributorsApi
  /** Queues a publish; resolves with its task (see `tasks.wait`). */
  publish: (repoId: string, distributorId: string, options?: PublishOptions) => Promise<Task>
  readonly tasks: TaskService
  readonly consumers: ConsumerService
  /** Remotes for pull-through; header values read back as `"***"`. */
  readonly remotes: RemoteService
  /** Base paths under `contentPath` served from a remote and/or joined to a repository. */
  readonly distributions: DistributionService
  /**
   * This instance's Prometheus registry (never prom-client's global one), for a host app that
   * exposes its own `/metrics`: `registry.metrics()`; undefined under `metrics: false`.
   */
  readonly metrics: Registry | undefined
  /** `orphans.cleanup({ orphanProtectionTime? })`: removes what nothing references; resolves with its task. */
  readonly orphans: OrphanService
  /**
   * Answers content requests (GET and HEAD below `mountPath` + `contentPath`) as they reach
   * `server`, before the host app's own middleware and Express's per-request set-up, which
   * costs a small file more than serving it does; every other request goes to the server's
   * request listeners as before. Opt-in: the host app's middleware (logging, auth) no longer
   * sees those requests. `mountPath` is where the app mounts this middleware (`app.use('/pulp',
   * pulp)` -> `'/pulp'`; `''` for the root). Requests carrying `X-Forwarded-Proto` or
   * `X-Forwarded-Host`, and any before `ready`, still go through the app, whose `trust proxy`
   * setting decides what those headers mean. Call it once the app is the server's listener
   * (`app.listen()`, `http.createServer(app)`, `https.createServer(opts, app)`); a `request`
   * listener added after it would see the content requests too.
   */
  attach: (server: Server | HttpsServer, options?: AttachOptions) => void
}

export interface AttachOptions {
  /** The path the host app mounts this middleware at: `''` (the default) or `/a[/b...]`. */
  mountPath?: string
}

/** A path matched byte for byte: segments of unreserved characters, no trailing slash. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/

/**
 * The URL below `contentPath` for a request the content router would get (its path starts with
 * exactly `contentPath`, then `/`, `?` or nothing), or undefined: the router decides (another
 * case, an absolute-form URL, an API mounted over or under the content).
 */
function directContent (contentPath: string, apiPath: string | false): (url: string) => string | undefined {
  const plain = PLAIN_PATH.test(contentPath)
  const under = (a: string, b: string): boolean => b === '/' || a === b || a.startsWith(b + '/')
  const shadowed = apiPath !== false && (under(contentPath, apiPath) || under(apiPath, contentPath))
  if (!plain || shadowed) return () => undefined
  return (url) => {
    if (!url.startsWith(contentPath)) return undefined
    const next = url.charCodeAt(contentPath.length)
    if (Number.isNaN(next)) return '/'
    if (next === 0x2f) return url.slice(contentPath.length)
    return next === 0x3f ? '/' + url.slice(contentPath.length) : undefined
  }
}

/**
 * Every method of a service waits for `ready` first, so code may call the programmatic API
 * straight after the factory returns.
 */
function afterReady<T extends object> (service: T, ready: Promise<void>): T {
  return new Proxy(service, {
    get (target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        await ready
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
      }
    }
  })
}

/**
 * Pulp's repositories, publishing, static tree and pull-through cache as one Express handler.
 *
 * Defaults: `dataDir: './pulp-data'` with SQLite at `<dataDir>/pulp.sqlite`, the API at
 * `/api/v1` (loopback clients only), content at `/content`.
 *
 * @example
 * const pulp = pulpMiddleware({ dataDir: './pulp-data' })
 * app.use('/pulp', pulp)
 * await pulp.ready
 */
export function pulpMiddleware (options: PulpOptions = {}): PulpMiddleware {
  const opts = resolveOptions(options)
  // Before anything touches the disk: a broken plugin is a bad option.
  const registry = createRegistry(opts.plugins)
  const connection = openConnection(opts.database, opts.dataDir)
  const ctx = createContext(opts, connection)
  const services = createServices(ctx, registry)
  const tempSweeper = new TempSweeper(ctx)
  let closed = false

  let started = false
  const ready = (async () => {
    await migrateLatest(ctx.knex)
    await ctx.artifacts.init()
    await services.publishing.start()
    // After the runner's first beat, so other instances already see this one alive.
    await tempSweeper.start()
    started = true
    debug('ready: %s at %s', ctx.dialect, opts.dataDir)
  })()
  // Callers who never await `ready` still learn of a failure from their first request.
  ready.catch((err: unknown) => ctx.log.part('pulp:middleware').error({ err }, 'start-up failed'))

  // Only our own paths wait for (or report) start-up; the host app's other routes never do.
  const waitUntilReady = async function waitUntilReady (_req: Request, res: Response, next: NextFunction) {
    // Once started, no await: a content request's every tick counts (bench 1).
    if (started && !closed) {
      next()
      return
    }
    try {
      if (closed) throw new ClosedError()
      await ready
    } catch (err: unknown) {
      res.status(err instanceof ClosedError ? httpStatusOf(err) : 503).json(
        err instanceof ClosedError ? errorBody(err) : { error: { code: ERROR_CODES.UNAVAILABLE, message: 'pulp-middleware failed to start; see the server log' } })
      return
    }
    next()
  }
  const router = Router()
  const content = createContentRouter(services)
  if (opts.apiPath !== false) router.use(opts.apiPath, waitUntilReady, createApiRouter(services))
  router.use(opts.contentPath, waitUntilReady, content)
  // The mount point itself says what is here, unless the API or the content owns it.
  if (opts.apiPath !== '/' && opts.contentPath !== '/') router.get('/', (req, res) => { sendLanding(req, res, opts) })

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    await ready.catch(() => {})
    await tempSweeper.close()
    await services.publishing.close()
    await services.pullThrough.close()
    await services.orphans.close()
    await ctx.artifacts.close()
    if (connection.owned) await ctx.knex.destroy()
    debug('closed')
  }

  const direct = directContent(opts.contentPath, opts.apiPath)

  /** Runs the content handler below `baseUrl`; what it hands on (an error) is `next`'s. */
  function serveContent (req: Request, res: Response, below: string, baseUrl: string, next: NextFunction): void {
    const { url } = req
    const outer = req.baseUrl
    req.url = below
    req.baseUrl = baseUrl
    void content(req, res, (err?: unknown) => {
      req.url = url
      req.baseUrl = outer
      next(err)
    })
  }

  function attach (server: Server | HttpsServer, attachOptions: AttachOptions = {}): void {
    const mountPath = attachOptions.mountPath ?? ''
    if (mountPath !== '' && (!PLAIN_PATH.test(mountPath) || mountPath.split('/').some((s) => s === '.' || s === '..'))) {
      throw new TypeError(`attach: mountPath must be '' or a path like '/pulp' (segments of letters, digits, '.', '_', '~', '-', none of them '.' or '..'; no trailing slash), got ${JSON.stringify(mountPath)}`)
    }
    // The same rule as the mounted handler's, once the mount is taken off the URL.
    const below = (url: string): string | undefined => url.startsWith(mountPath) ? direct(url.slice(mountPath.length)) : undefined
    const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>
    const toApp = (req: IncomingMessage, res: ServerResponse): void => {
      for (const listener of listeners) listener.call(server, req, res)
    }
    server.removeAllListeners('request')
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const path = started && !closed && (req.method === 'GET' || req.method === 'HEAD') &&
        req.headers['x-forwarded-proto'] === undefined && req.headers['x-forwarded-host'] === undefined
        ? below(req.url ?? '')
        : undefined
      if (path === undefined) {
        toApp(req, res)
        return
      }
      const raw = req as Request
      raw.originalUrl = req.url ?? ''
      raw.baseUrl = ''
      serveContent(raw, res as Response, path, mountPath + opts.contentPath, () => {
        // The content handler logged it; with no app in between, the answer is ours.
        if (res.headersSent) res.destroy()
        else sendError(res, 500, { code: ERROR_CODES.INTERNAL, message: 'the content request failed; see the server log' })
      })
    })
  }
  const handler = function pulpMiddleware (req: Request, res: Response, next: NextFunction): void {
    const below = started && !closed ? direct(req.url) : undefined
    if (below === undefined) {
      router(req, res, next)
      return
    }
    // What the router's use() of contentPath does, without its layers (bench 1: a small
    // file's request spent a tenth of its time in the two routers): the path below the mount
    // in req.url, the mount in req.baseUrl, both put back for whatever comes next.
    serveContent(req, res, below, (req.baseUrl ?? '') + opts.contentPath, next)
  }
  return Object.assign(handler, {
    ready,
    close,
    repositories: afterReady(services.repositories, ready),
    status: async () => { await ready; return await services.status() },
    registry: services.publishing.registry,
    distributors: afterReady(services.publishing.distributors, ready),
    publish: async (repoId: string, distributorId: string, options?: PublishOptions) => {
      await ready
      return await services.publishing.publisher.publish(repoId, distributorId, options)
    },
    tasks: afterReady(services.publishing.tasks, ready),
    consumers: afterReady(services.publishing.consumers, ready),
    remotes: afterReady(services.remotes, ready),
    distributions: afterReady(services.distributions, ready),
    metrics: ctx.metrics?.registry,
    orphans: afterReady(services.orphans, ready),
    attach
  })
}
