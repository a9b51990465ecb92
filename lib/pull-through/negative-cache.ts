/** More remembered 404s than this and the oldest are forgotten first. */
const MAX_ENTRIES = 10_000

/**
 * Upstream 404s remembered per remote and path for the remote's `negative_cache_ttl`, in the
 * memory of one middleware instance. Entries expire lazily, so no timer runs.
 */
export class NegativeCache {
  readonly #expiry = new Map<string, number>()
  readonly #now: () => number

  constructor (now: () => number = performance.now.bind(performance)) {
    this.#now = now
  }

  static key (remoteName: string, relativePath: string): string {
    return `${remoteName}\0${relativePath}`
  }

  /** Remembers a 404 for `ttlSeconds`; null or 0 remembers nothing. */
  remember (remoteName: string, relativePath: string, ttlSeconds: number | null): void {
    if (ttlSeconds === null || ttlSeconds <= 0) return
    const key = NegativeCache.key(remoteName, relativePath)
    // Re-inserting moves the key to the end, keeping the map in expiry order for one TTL.
    this.#expiry.delete(key)
    this.#expiry.set(key, this.#now() + ttlSeconds * 1000)
    if (this.#expiry.size > MAX_ENTRIES) this.#expiry.delete(this.#expiry.keys().next().value as string)
  }

  has (remoteName: string, relativePath: string): boolean {
    if (this.#expiry.size === 0) return false
    const key = NegativeCache.key(remoteName, relativePath)
    const until = this.#expiry.get(key)
    if (until === undefined) return false
    if (until > this.#now()) return true
    this.#expiry.delete(key)
    return false
  }

  /** Forgets every 404 of a remote (it was updated or deleted). */
  forgetRemote (remoteName: string): void {
    const prefix = `${remoteName}\0`
    for (const key of this.#expiry.keys()) if (key.startsWith(prefix)) this.#expiry.delete(key)
  }

  clear (): void {
    this.#expiry.clear()
  }
}
