import type { Knex } from 'knex'
import createDebug from 'debug'
import type { PulpContext } from '../core/context'
import { validateRelativePath } from '../core/validate'
import { Content, type Artifact, type ContentTypeClass } from '../plugins/content'
import { upsertPullEntry, type EntryKey, type PullEntry } from '../storage/pull-entries'
import { upsertRemoteArtifact } from '../storage/remote-artifacts'
import { associateUnit, ensureUnit, recordArtifact } from '../storage/units'
import type { Download } from './download'

const debug = createDebug('pulp:content:pull-through:save')

export interface SaveSpec {
  download: Download
  contentType: ContentTypeClass
  /** The distribution's repository, which the unit joins; null for none. */
  repositoryId: string | null
  /** More work for the transaction that records the path (it commits with it). */
  within?: (trx: Knex) => Promise<void>
  /** The index digest (`"<algorithm>:<hex>"`) the bytes were verified against, if any. */
  digest?: string | null
}

function isArtifact (value: unknown): value is Artifact {
  const a = value as Partial<Artifact> | null
  return typeof a === 'object' && a !== null && typeof a.sha256 === 'string' && typeof a.size === 'number' && typeof a.path === 'string'
}

/** Checks what a content type's hook returned and splits it into the unit and its artifacts. */
function unpack (init: unknown, artifact: Artifact, relativePath: string, typeName: string): [Content, Map<string, Artifact>] {
  const [unit, byPath] = Array.isArray(init) ? init as [unknown, unknown] : [init, { [relativePath]: artifact }]
  if (!(unit instanceof Content)) throw new TypeError(`${typeName}.initFromArtifactAndRelativePath must return a Content unit (or [unit, artifacts])`)
  validateRelativePath(unit.relativePath, `${typeName} unit relativePath`)
  if (byPath === null || typeof byPath !== 'object') throw new TypeError(`${typeName}.initFromArtifactAndRelativePath: the artifacts must be an object of relative paths`)
  const artifacts = new Map<string, Artifact>()
  for (const [p, a] of Object.entries(byPath)) {
    validateRelativePath(p, `${typeName} artifact path`)
    // null: a part of the unit not downloaded (yet); it is fetched when asked for.
    if (a === null) continue
    if (!isArtifact(a)) throw new TypeError(`${typeName}.initFromArtifactAndRelativePath: the artifact of "${p}" is not an artifact`)
    artifacts.set(p, a)
  }
  // The path the client asked for is always answered by the bytes it got.
  artifacts.set(relativePath, artifact)
  if (![...artifacts.values()].some((a) => a.sha256 === unit.sha256)) {
    throw new TypeError(`${typeName}.initFromArtifactAndRelativePath: the unit's sha256 is none of its artifacts'`)
  }
  return [unit, artifacts]
}

/**
 * Turns a completed download into an artifact and a content unit: records what the remote
 * served at each path (for later HITs), and adds the unit to the repository, whose
 * `content-changed` event drives `auto_publish`.
 */
export async function saveDownload (ctx: PulpContext, spec: SaveSpec): Promise<void> {
  const { download, contentType, repositoryId, within, digest } = spec
  const { remote, relativePath, head } = download
  const sha256 = download.sha256 as string
  const artifact = await ctx.artifacts.adopt(download.tmpPath, sha256, download.spool.received)
  const typeName = contentType.name || 'the content type'
  const [unit, artifacts] = unpack(contentType.initFromArtifactAndRelativePath(artifact, relativePath), artifact, relativePath, typeName)
  // The size is the artifact's, whatever the unit claims: the store is the authority.
  const unitSize = ([...artifacts.values()].find((a) => a.sha256 === unit.sha256) as Artifact).size
  const saved = await ctx.knex.transaction(async (trx) => {
    const stored = await ensureUnit(trx, { typeId: unit.typeId, relativePath: unit.relativePath, sha256: unit.sha256, size: unitSize })
    for (const [p, a] of artifacts) {
      await recordArtifact(trx, a.sha256, a.size)
      const own = p === relativePath
      await upsertRemoteArtifact(trx, {
        remoteName: remote.name,
        relativePath: p,
        unitId: stored.id,
        sha256: a.sha256,
        size: a.size,
        contentType: own ? head?.contentType ?? null : null,
        contentEncoding: own ? head?.contentEncoding ?? null : null,
        digest: own ? digest ?? null : null
      })
    }
    await within?.(trx)
    return stored
  })
  // An orphan cleanup may have removed the stored file between the adopt above and the rows
  // (it deletes only unreferenced rows, and these now reference it): link it back.
  await ctx.artifacts.adopt(download.tmpPath, sha256, download.spool.received)
  debug('%s: %s saved as %s unit %s (%s)', remote.name, relativePath, saved.typeId, saved.id, sha256)
  if (repositoryId !== null && await associateUnit(ctx.knex, repositoryId, saved)) {
    ctx.events.emit('content-changed', repositoryId)
  }
}

export interface MetadataSpec {
  download: Download
  key: EntryKey
  /** When the request that fetched it was sent: its freshness counts from then. */
  fetched: number
  digest: string | null
  within: (trx: Knex) => Promise<void>
  /** The body the remote type rewrote the download to: saved (and served) in its place. */
  rewritten?: { tmpPath: string, sha256: string, size: number, contentType: string | null }
}

/**
 * Turns a completed download of a metadata path into an artifact and the path's cache entry,
 * with the upstream's validators; no unit, no repository: metadata is the upstream's, for now.
 */
export async function saveMetadata (ctx: PulpContext, spec: MetadataSpec): Promise<PullEntry> {
  const { download, key, within, rewritten } = spec
  const tmpPath = rewritten?.tmpPath ?? download.tmpPath
  const sha256 = rewritten?.sha256 ?? download.sha256 as string
  const size = rewritten?.size ?? download.spool.received
  await ctx.artifacts.adopt(tmpPath, sha256, size)
  const head = download.head
  // The upstream's validators stay: its 304 vouches for the copy the rewrite was made from.
  const entry: PullEntry = {
    ...key,
    status: 200,
    sha256,
    size,
    contentType: rewritten === undefined ? head?.contentType ?? null : rewritten.contentType,
    contentEncoding: rewritten === undefined ? head?.contentEncoding ?? null : null,
    etag: head?.etag ?? null,
    lastModified: head?.lastModified ?? null,
    digest: spec.digest,
    fetched: spec.fetched
  }
  await ctx.knex.transaction(async (trx) => {
    await recordArtifact(trx, sha256, size)
    await upsertPullEntry(trx, entry)
    await within(trx)
  })
  // As in saveDownload: an orphan cleanup may have removed the file before the entry referenced it.
  await ctx.artifacts.adopt(tmpPath, sha256, size)
  debug('%s: metadata %s saved (%s)', key.remoteName, key.relativePath, sha256)
  return entry
}
