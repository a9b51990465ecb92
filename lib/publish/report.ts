import type { PublishReport } from '../plugins/distributor'
import { assertJson } from '../plugins/config'

/** The reports a conduit builds; only these count as a publish's answer. */
class Report implements PublishReport {
  readonly successFlag: boolean
  readonly canceledFlag: boolean
  readonly summary: unknown
  readonly details: unknown

  constructor (successFlag: boolean, canceledFlag: boolean, summary: unknown, details: unknown) {
    assertJson(summary ?? null, 'a report summary')
    assertJson(details ?? null, 'report details')
    this.successFlag = successFlag
    this.canceledFlag = canceledFlag
    this.summary = structuredClone(summary ?? null)
    this.details = structuredClone(details ?? null)
    Object.freeze(this)
  }
}

export function successReport (summary?: unknown, details?: unknown): PublishReport {
  return new Report(true, false, summary, details)
}

export function failureReport (summary?: unknown, details?: unknown): PublishReport {
  return new Report(false, false, summary, details)
}

export function cancelReport (summary?: unknown, details?: unknown): PublishReport {
  return new Report(false, true, summary, details)
}

export function isReport (value: unknown): value is PublishReport {
  return value instanceof Report
}
