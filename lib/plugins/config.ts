/** A JSON object: what configs, reports and payloads are made of. */
export type JsonObject = Record<string, unknown>

export interface ConfigLayers {
  /** The registration's `defaultConfig`. */
  defaults?: JsonObject
  /** The repository distributor's stored config. */
  stored?: JsonObject
  /** The override config of this one call (publish). */
  override?: JsonObject
}

/**
 * A distributor's config as Pulp layers it: the override of this call, then the repository
 * distributor's stored config, then the registration's default config. A `null` value in a
 * higher layer hides the key below it (stored configs never keep nulls: storing one deletes the
 * key). Plugins get copies, so nothing they do changes what is stored.
 */
export class PluginConfig {
  readonly #flat: JsonObject

  constructor (layers: ConfigLayers = {}) {
    const flat: JsonObject = { ...layers.defaults, ...layers.stored, ...layers.override }
    for (const [key, value] of Object.entries(flat)) if (value === null || value === undefined) delete flat[key]
    this.#flat = structuredClone(flat)
  }

  /** The value of `key`, or `fallback` when no layer sets it. */
  get<T = unknown>(key: string, fallback?: T): T {
    return (Object.hasOwn(this.#flat, key) ? structuredClone(this.#flat[key]) : fallback) as T
  }

  has (key: string): boolean {
    return Object.hasOwn(this.#flat, key)
  }

  /** All keys merged into one plain object (a copy). */
  flatten (): JsonObject {
    return structuredClone(this.#flat)
  }
}

/**
 * Applies a config change as Pulp does: keys set to `null` are removed, others replace the
 * stored value. With no `base` this is an add: the result is the given keys minus the nulls.
 */
export function mergeStoredConfig (base: JsonObject | undefined, change: JsonObject): JsonObject {
  const merged: JsonObject = { ...base }
  for (const [key, value] of Object.entries(change)) {
    if (value === null) delete merged[key]
    else merged[key] = value
  }
  return merged
}

/**
 * Throws a TypeError unless `value` is plain JSON (null, booleans, finite numbers, strings,
 * arrays and plain objects), so that what is saved reads back the same.
 */
export function assertJson (value: unknown, what: string, at = '', seen = new Set<object>()): void {
  const where = at === '' ? 'the value' : at
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${what} must be JSON-serializable: ${where} is ${value}`)
    return
  }
  if (typeof value !== 'object') throw new TypeError(`${what} must be JSON-serializable: ${where} is a ${typeof value}`)
  if (seen.has(value)) throw new TypeError(`${what} must be JSON-serializable: ${where} is a circular reference`)
  seen.add(value)
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJson(v, what, `${at}[${i}]`, seen))
  } else {
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`${what} must be JSON-serializable: ${where} is a ${(value as object).constructor?.name ?? 'non-plain object'}`)
    }
    for (const [k, v] of Object.entries(value)) assertJson(v, what, at === '' ? k : `${at}.${k}`, seen)
  }
  seen.delete(value)
}
