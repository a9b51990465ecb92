import { createHash } from 'node:crypto'
import type { JsonObject } from '../plugins/config'

/** JSON with object keys sorted at every level, so equal values give equal text. */
function canonical (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as JsonObject)[k])]))
  }
  return value
}

export interface FingerprintInput {
  /** The repository's content version when the publish started. */
  contentVersion: number
  distributorTypeId: string
  /** When the distributor was added: a distributor removed and added again starts afresh. */
  distributorCreated: string
  defaultConfig: JsonObject
  storedConfig: JsonObject
  overrideConfig: JsonObject
}

/**
 * What a publish would publish: equal fingerprints mean nothing changed since, so the publish
 * may be skipped. `force_full` is left out: it asks for a publish, it does not change one.
 */
export function publishFingerprint (input: FingerprintInput): string {
  const { force_full: _forceFull, ...override } = input.overrideConfig
  const text = JSON.stringify(canonical({ ...input, overrideConfig: override }))
  return createHash('sha256').update(text).digest('hex')
}
