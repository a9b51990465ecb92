import path from 'node:path'
import { createWriteStream } from 'node:fs'
import { mkdir, symlink } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import createDebug from 'debug'
import { PulpError, ValidationError } from '../errors'
import { validateRelativePath } from '../relative-path'
import type { Repository } from '../storage/repositories'
import type { JsonObject, PluginConfig } from './config'
import {
  Distributor, type ConfigConduit, type DistributorMetadata, type PublishConduit, type PublishReport, type ValidationResult
} from './distributor'

const debug = createDebug('pulp:plugins:web')

/** The registration defaults of the built-in `web` distributor (`relative_url` defaults to the repository id). */
export const WEB_DEFAULT_CONFIG: Readonly<JsonObject> = Object.freeze({ http: true, https: false, manifest: true })

const KEYS = ['relative_url', 'http', 'https', 'manifest']
export const MANIFEST = 'PULP_MANIFEST'

/**
 * Links being made at once. One at a time, each symlink(2) waited for a thread-pool round
 * trip; a few in flight keep the pool busy (100k units: ~2.2x the time of a bare loop of
 * symlinkSync calls with one, see bench/publish.ts and docs/performance.md).
 */
const LINKS_IN_FLIGHT = 16
/** Units read ahead of the linking, so the database fetches the next batch while links are made. */
const UNITS_AHEAD = 1000
/** Progress is reported at most this often (ms); the conduit saves it at most every 250 ms anyway. */
const PROGRESS_EVERY_MS = 100
/** Manifest lines are written in batches of about this many characters, not one write each. */
const MANIFEST_BATCH = 64 * 1024

interface WebSettings {
  relativeUrl: string
  http: boolean
  https: boolean
  manifest: boolean
}

interface Published { relative_url: string, http: boolean, https: boolean }

function settingsOf (defaultUrl: string, config: PluginConfig): WebSettings {
  const flag = (key: string, fallback: boolean): boolean => {
    const value = config.get(key, fallback)
    if (typeof value !== 'boolean') throw new ValidationError(`"${key}" must be true or false`)
    return value
  }
  return {
    relativeUrl: validateRelativePath(config.get('relative_url', defaultUrl), 'relative_url'),
    http: flag('http', true),
    https: flag('https', false),
    manifest: flag('manifest', true)
  }
}

/** One PULP_MANIFEST line; a field with a comma, quote or line break is quoted as in CSV (RFC 4180). */
function manifestLine (relativePath: string, sha256: string, size: number): string {
  const field = /[",\r\n]/.test(relativePath) ? `"${relativePath.replaceAll('"', '""')}"` : relativePath
  return `${field},${sha256},${size}\n`
}

/**
 * The built-in `web` distributor: publishes a repository as a tree of symlinks into the
 * artifact store (no copies), with a `PULP_MANIFEST`, served atomically at
 * `publish/http/<relative_url>` and/or `publish/https/<relative_url>`.
 *
 * Config: `relative_url` (default: the repository id), `http` (default true), `https`
 * (default false), `manifest` (default true). Two web distributors may not share a
 * `relative_url`, nor may one nest inside another. Links are relative, so the data directory
 * can be moved or mounted elsewhere whole.
 */
export class WebDistributor extends Distributor {
  static metadata (): DistributorMetadata {
    return { id: 'web', displayName: 'Web: a static tree served over HTTP', types: ['file'] }
  }

  /** Without a `relative_url`, a repository is served at its id. */
  static defaultRelativeUrl (repo: Readonly<Pick<Repository, 'id'>>): string {
    return repo.id
  }

  /** This class's `defaultRelativeUrl`, so a subclass that overrides it is served where it says. */
  protected defaultUrl (repo: Readonly<Repository>): string {
    return (this.constructor as typeof WebDistributor).defaultRelativeUrl(repo)
  }

  async validateConfig (repo: Readonly<Repository>, config: PluginConfig, conduit: ConfigConduit): Promise<ValidationResult> {
    const unknown = Object.keys(config.flatten()).filter((k) => !KEYS.includes(k))
    if (unknown.length > 0) return { valid: false, message: `unknown config key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${KEYS.join(', ')})` }
    let settings: WebSettings
    try {
      settings = settingsOf(this.defaultUrl(repo), config)
    } catch (err: unknown) {
      if (err instanceof ValidationError) return { valid: false, message: err.message }
      throw err
    }
    const conflict = await this.conflictOf(repo, settings.relativeUrl, conduit)
    return conflict === undefined ? { valid: true } : { valid: false, message: conflict }
  }

  /** A message naming the distributor whose relative_url overlaps ours, if there is one. */
  protected async conflictOf (repo: Readonly<Repository>, relativeUrl: string, conduit: ConfigConduit): Promise<string | undefined> {
    const others = (await conduit.getRepoDistributorsByRelativeUrl(relativeUrl))
      .filter((c) => !(c.repoId === repo.id && c.distributorId === conduit.distributorId))
    if (others.length === 0) return undefined
    const o = others[0]
    const how = o.relativeUrl === relativeUrl ? 'is already used by' : 'overlaps'
    return `relative_url "${relativeUrl}" ${how} "${o.relativeUrl}" of distributor "${o.distributorId}" of repository "${o.repoId}"`
  }

  override async publishRepo (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
    let settings: WebSettings
    try {
      settings = settingsOf(this.defaultUrl(repo), config)
    } catch (err: unknown) {
      if (err instanceof ValidationError) return conduit.buildFailureReport(err.message)
      throw err
    }
    // Checked again: an override or a concurrent change may have moved things since validation.
    const conflict = await this.conflictOf(repo, settings.relativeUrl, conduit)
    if (conflict !== undefined) return conduit.buildFailureReport(conflict)

    const types = (this.constructor as typeof WebDistributor).metadata().types
    const total = types.reduce((sum, t) => sum + (repo.contentUnitCounts[t] ?? 0), 0)
    let done = 0
    let reported = performance.now()
    const skipped: string[] = []
    conduit.setProgress({ state: 'linking', units: { done, total } })
    try {
      const lines = this.#linkUnits(conduit, types, settings.manifest, skipped, () => {
        done++
        const at = performance.now()
        if (at - reported < PROGRESS_EVERY_MS) return
        reported = at
        conduit.setProgress({ state: 'linking', units: { done, total } })
      })
      if (settings.manifest) {
        await pipeline(Readable.from(batched(lines, MANIFEST_BATCH)), createWriteStream(path.join(conduit.workingDir, MANIFEST), { flags: 'wx' }), { signal: conduit.signal })
      } else {
        for await (const _line of lines) conduit.signal.throwIfAborted()
      }
      conduit.signal.throwIfAborted()
    } catch (err: unknown) {
      if (conduit.signal.aborted) return conduit.buildCancelReport('canceled', { units: { done, total } })
      if (err instanceof PulpError) return conduit.buildFailureReport(err.message, { units: { done, total } })
      throw err
    }

    const previous = await conduit.getScratchpad() as { published?: Published } | null
    await conduit.activatePublication(settings.relativeUrl, { http: settings.http, https: settings.https })
    if (previous?.published !== undefined && previous.published.relative_url !== settings.relativeUrl) {
      await conduit.unpublish(previous.published.relative_url)
    }
    await conduit.setScratchpad({ published: { relative_url: settings.relativeUrl, http: settings.http, https: settings.https } })
    conduit.setProgress({ state: 'finished', units: { done, total } })
    debug('%s published %d units at %s', repo.id, done - skipped.length, settings.relativeUrl)
    const warnings = skipped.map((p) => `unit "${p}" was not published: "${MANIFEST}" is where the manifest goes (set "manifest": false or move the unit)`)
    return conduit.buildSuccessReport(
      {
        units: done - skipped.length,
        relative_url: settings.relativeUrl,
        protocols: protocolsOf(settings),
        ...(warnings.length > 0 ? { warnings } : {})
      },
      { manifest: settings.manifest }
    )
  }

  /**
   * Links every unit into the working directory, a few at a time; yields each unit's manifest
   * line in unit order, and ends once every link is made (or throws the first failure). A unit
   * at or under the manifest's name is left out and named in `skipped`: units come from
   * uploads and from any anonymous pull-through request, and none of them may make every later
   * publish fail (the manifest describes the other units, so it wins).
   */
  async * #linkUnits (
    conduit: PublishConduit,
    types: string[],
    manifest: boolean,
    skipped: string[],
    onUnit: () => void
  ): AsyncGenerator<string> {
    const dirs = new Map<string, Promise<unknown>>()
    const linking: Array<Promise<void>> = []
    try {
      for await (const unit of readAhead(conduit.units({ typeIds: types }), UNITS_AHEAD)) {
        conduit.signal.throwIfAborted()
        if (manifest && (unit.relativePath === MANIFEST || unit.relativePath.startsWith(MANIFEST + '/'))) {
          skipped.push(unit.relativePath)
          onUnit()
          continue
        }
        const link = path.join(conduit.workingDir, ...unit.relativePath.split('/'))
        const dir = path.dirname(link)
        let made = dirs.get(dir)
        if (made === undefined) {
          // A link still being made may be where this directory goes: let it land first, so a
          // clash fails on the later unit, as one link at a time would.
          while (linking.length > 0) await linking.shift()
          made = mkdir(dir, { recursive: true })
          dirs.set(dir, made)
        }
        const one = linkUnit(made, path.relative(dir, unit.storagePath), link, unit.relativePath).then(onUnit)
        // Awaited in order below; this only keeps a failure from being reported as unhandled meanwhile.
        one.catch(() => {})
        linking.push(one)
        if (linking.length >= LINKS_IN_FLIGHT) await linking.shift()
        yield manifestLine(unit.relativePath, unit.sha256, unit.size)
      }
      while (linking.length > 0) await linking.shift()
    } finally {
      // Nothing may still be writing into the working directory when the caller removes it.
      await Promise.allSettled(linking)
    }
  }

  /** The publish loop watches `conduit.signal`; nothing else holds resources to release. */
  override async cancelPublishRepo (): Promise<void> {}

  override createConsumerPayload (repo: Readonly<Repository>, config: PluginConfig): JsonObject {
    const settings = settingsOf(this.defaultUrl(repo), config)
    return { relative_url: settings.relativeUrl, protocols: protocolsOf(settings), manifest: settings.manifest ? MANIFEST : null }
  }

  /** Unpublishes: the links at the configured relative_url and at the one last published. */
  override async distributorRemoved (repo: Readonly<Repository>, config: PluginConfig, conduit: ConfigConduit): Promise<void> {
    const urls = new Set<string>()
    const configured = config.get('relative_url', this.defaultUrl(repo))
    if (typeof configured === 'string') urls.add(configured)
    const pad = await conduit.getScratchpad() as { published?: Published } | null
    if (pad?.published !== undefined) urls.add(pad.published.relative_url)
    for (const url of urls) {
      try {
        await conduit.unpublish(url)
      } catch (err: unknown) {
        if (!(err instanceof ValidationError)) throw err
      }
    }
  }
}

/** Makes one unit's link once its directory exists; a path clash becomes a ValidationError. */
async function linkUnit (dirMade: Promise<unknown>, target: string, link: string, relativePath: string): Promise<void> {
  try {
    await dirMade
    await symlink(target, link)
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new ValidationError(`unit "${relativePath}" cannot be placed: another unit's path is a file where it needs a directory, or the reverse`)
    }
    throw err
  }
}

/**
 * The items of `source`, asked for up to `ahead` items before they are needed. An async
 * generator answers queued `next()` calls in order, one at a time, so this only moves its
 * waits (a database query at each batch) off the consumer's path.
 */
async function * readAhead<T> (source: AsyncIterable<T>, ahead: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]()
  const queue: Array<Promise<IteratorResult<T>>> = []
  let ended = false
  try {
    for (;;) {
      while (!ended && queue.length < ahead) {
        const next = it.next()
        // Awaited in order below; a failure is thrown there, not reported as unhandled here.
        next.catch(() => {})
        queue.push(next)
      }
      const result = await (queue.shift() as Promise<IteratorResult<T>>)
      if (result.done === true) {
        ended = true
        return
      }
      yield result.value
    }
  } finally {
    if (!ended) await it.return?.()
  }
}

/** Joins short strings into chunks of about `size` characters. */
async function * batched (lines: AsyncIterable<string>, size: number): AsyncGenerator<string> {
  let chunk = ''
  for await (const line of lines) {
    chunk += line
    if (chunk.length >= size) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk !== '') yield chunk
}

function protocolsOf (s: { http: boolean, https: boolean }): string[] {
  return [...(s.http ? ['http'] : []), ...(s.https ? ['https'] : [])]
}
