import { CommandError } from '../errors'
import type { ApiClient } from './client'
import type { DigestCache } from './digest-cache'
import { eachLimit, listTree, sha256File } from './local-tree'
import { multipartBody, type LocalFile } from './multipart'
import type { TransferBar } from './progress'

export interface PushOptions {
  /** Remove units whose path is no longer in the directory. */
  delete?: boolean
  /** Requests in flight at once (default 4). */
  concurrency?: number
  /** Most files in one upload request (default FILES_PER_REQUEST). */
  filesPerRequest?: number
  /** A request takes no more files once it holds this many bytes (default BYTES_PER_REQUEST). */
  bytesPerRequest?: number
  bar?: TransferBar
  /** Digests of this directory's files remembered from earlier pushes (read, and kept up to date). */
  digests?: DigestCache
}

export interface PushSummary {
  added: number
  replaced: number
  unchanged: number
  removed: number
  /** Bytes uploaded. */
  bytes: number
  seconds: number
  /** Upload requests sent. */
  uploads: number
  /** Files read to be hashed here (the others were new, of another size, or remembered). */
  hashed: number
}

/**
 * Batching measured with bench/push.ts (`npm run bench -- push`): for 10,000 small files, one
 * file per request spent most of its time in per-request work on both sides; 64 per request
 * removed most of it, and 256 shares the database's index pages among more rows of a
 * transaction (a third fewer pages written: docs/performance.md, measure 8). The byte cap
 * keeps a request's all-or-nothing unit small.
 */
export const FILES_PER_REQUEST = 256
export const BYTES_PER_REQUEST = 8 * 1024 * 1024

/** The most a list request returns (the API's page limit). */
const PAGE = 1000

interface RemoteUnit { relative_path: string, sha256: string, size: number }

type Page = { count: number, results: RemoteUnit[] }

/**
 * The repository's units page by page, up to `ahead` pages asked for before the one handed
 * over: the server reads them while the caller hashes the files of this one. The first page is
 * asked for at once, before the generator is first read: the server reads it while the
 * caller lists the local tree.
 */
function remotePages (client: ApiClient, repo: string, ahead: number): AsyncGenerator<RemoteUnit[]> {
  const get = (offset: number): Promise<Page> => {
    const page = client.json<Page>('GET', `/repositories/${encodeURIComponent(repo)}/content`, { query: { limit: PAGE, offset } })
    // Awaited in its turn; a caller that stops (or fails) first must not leave it unhandled.
    page.catch(() => {})
    return page
  }
  return pagesFrom(get(0), get, Math.max(1, ahead))
}

async function * pagesFrom (first: Promise<Page>, get: (offset: number) => Promise<Page>, ahead: number): AsyncGenerator<RemoteUnit[]> {
  const queue = [first]
  let asked = 1
  for (let index = 0; ; index++) {
    const page = await queue.shift() as Page
    const more = page.results.length === PAGE && (index + 1) * PAGE < page.count
    if (!more) {
      yield page.results
      return
    }
    const pages = Math.ceil(page.count / PAGE)
    while (asked < pages && queue.length < ahead) queue.push(get(asked++ * PAGE))
    yield page.results
  }
}

/** Cuts the files into upload requests: a few small files together, a large one alone. */
export function batches (files: readonly LocalFile[], maxFiles: number, maxBytes: number): LocalFile[][] {
  const out: LocalFile[][] = []
  let current: LocalFile[] = []
  let bytes = 0
  for (const file of files) {
    if (current.length > 0 && (current.length >= maxFiles || bytes + file.size > maxBytes)) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(file)
    bytes += file.size
  }
  if (current.length > 0) out.push(current)
  return out
}

/**
 * Makes repository `repo` hold the tree under `dir`: a file whose path and sha256 the repository
 * already has is not sent. Only files whose size matches the unit at their path are hashed
 * locally (a different size is a change already), so a first push reads each file once; they
 * are hashed page by page of the repository's listing, while the next page is on its way.
 */
export async function push (client: ApiClient, repo: string, dir: string, options: PushOptions = {}): Promise<PushSummary> {
  const started = Date.now()
  const concurrency = options.concurrency ?? 4
  const bar = options.bar
  await client.json('GET', `/repositories/${encodeURIComponent(repo)}`)
  const pages = remotePages(client, repo, concurrency)
  const local = await listTree(dir)
  const byPath = new Map(local.map((file) => [file.relativePath, file]))
  const remote = new Map<string, RemoteUnit>()

  const summary: PushSummary = { added: 0, replaced: 0, unchanged: 0, removed: 0, bytes: 0, seconds: 0, uploads: 0, hashed: 0 }
  const { digests } = options
  const toSend: LocalFile[] = []
  const changed = new Set<LocalFile>()
  // The check bar runs over the whole tree: a file needs no reading when the listing has no
  // unit at its path or one of another size, and counts as checked once that is known.
  const totalBytes = local.reduce((n, f) => n + f.size, 0)
  const checked = { files: 0, bytes: 0 }
  const check = (file: LocalFile, read: boolean): void => {
    checked.files++
    checked.bytes += file.size
    if (!read) bar?.addBytes(file.size)
    bar?.addFiles(1)
  }
  let checking = false
  try {
    for await (const units of pages) {
      if (units.length > 0 && !checking) bar?.start('check ', local.length, totalBytes)
      checking ||= units.length > 0
      const toHash: LocalFile[] = []
      for (const unit of units) {
        remote.set(unit.relative_path, unit)
        const file = byPath.get(unit.relative_path)
        if (file === undefined) continue
        if (unit.size === file.size) toHash.push(file)
        else {
          changed.add(file)
          check(file, false)
        }
      }
      // While these are hashed, the server reads the next page.
      await eachLimit(toHash, 4, async (file) => {
        const known = file.stamp === undefined ? undefined : digests?.get(file.relativePath, file.stamp)
        const sha256 = known ?? await sha256File(file.path, file.size, (n) => bar?.addBytes(n))
        if (known === undefined) {
          summary.hashed++
          if (file.stamp !== undefined) digests?.set(file.relativePath, file.stamp, sha256, started)
        }
        if (sha256 !== remote.get(file.relativePath)?.sha256) changed.add(file)
        check(file, known === undefined)
      })
    }
    bar?.addBytes(totalBytes - checked.bytes)
    bar?.addFiles(local.length - checked.files)
  } finally {
    if (checking) bar?.stop()
  }
  for (const file of local) {
    if (!remote.has(file.relativePath)) {
      summary.added++
      toSend.push(file)
    } else if (changed.has(file)) {
      summary.replaced++
      toSend.push(file)
    } else summary.unchanged++
  }

  if (toSend.length > 0) {
    bar?.start('upload', toSend.length, toSend.reduce((n, f) => n + f.size, 0))
    const requests = batches(toSend, options.filesPerRequest ?? FILES_PER_REQUEST, options.bytesPerRequest ?? BYTES_PER_REQUEST)
    try {
      await eachLimit(requests, concurrency, async (files) => {
        const body = multipartBody(files, (n) => { summary.bytes += n; bar?.addBytes(n) })
        const answer = await client.send<{ units: Array<{ relative_path: string, sha256: string }> }>(
          'POST', `/repositories/${encodeURIComponent(repo)}/content`, body)
        if (answer?.units?.length !== files.length) throw new CommandError(`the server added ${answer?.units?.length ?? 0} of ${files.length} files in one request`)
        // The server hashed what it read: remembered for the next push, as if hashed here.
        for (const [i, unit] of answer.units.entries()) {
          const file = files[i]
          if (file.stamp === undefined || unit.relative_path !== file.relativePath) continue
          digests?.set(file.relativePath, file.stamp, unit.sha256, started)
        }
        summary.uploads++
        bar?.addFiles(files.length)
      })
    } finally {
      bar?.stop()
    }
  }

  if (options.delete === true) {
    const present = new Set(local.map((f) => f.relativePath))
    const gone = [...remote.keys()].filter((p) => !present.has(p))
    await eachLimit(gone, concurrency, async (relativePath) => {
      await client.json('DELETE', `/repositories/${encodeURIComponent(repo)}/content`, { query: { relative_path: relativePath } })
      summary.removed++
    })
  }
  if (digests !== undefined) {
    digests.retain(new Set(local.map((f) => f.relativePath)))
    digests.save()
  }
  summary.seconds = (Date.now() - started) / 1000
  return summary
}
