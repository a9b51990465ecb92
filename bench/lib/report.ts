/** Result lines, their targets, and the table they print as. */

export type TargetOp = '>=' | '<=' | '='

export interface Target {
  op: TargetOp
  value: number
  /** 'x' for a ratio (ours / peer), else the unit of `ours` itself. */
  unit: string
}

export interface Line {
  /** 1 to 7, the issue's numbering. */
  measure: number
  title: string
  /** What this line measures: size, connections, figure. */
  case: string
  unit: string
  ours: number
  /** The peer's figure in `unit`, or null when the target is absolute. */
  peer: number | null
  /** A label for the peer column when it is not the peer of the title (e.g. "idle"). */
  peerLabel?: string
  /** ours / peer. */
  ratio: number | null
  target: Target | null
  pass: boolean | null
  /** Anything a reader needs to interpret the line (smaller sizes in quick mode, spread). */
  note?: string
  /** Every repetition, for the spread. */
  samples?: { ours: number[], peer: number[] }
  /**
   * Debian's nginx doing the same job, the ceiling (static `alias`, `proxy_cache`): its figure
   * in `unit`, or null when nginx is not installed. Absent on lines it does not apply to.
   */
  nginx?: number | null
  /** ours / nginx (the median of the pairs' ratios when repeated). */
  nginxRatio?: number | null
}

/** ours / other: the median of the pairs' ratios when both were repeated alike, else of the medians. */
export function pairedRatio (ours: number[], other: number[]): number | null {
  if (ours.length > 1 && ours.length === other.length) return median(ours.map((o, i) => o / other[i]))
  const m = median(other)
  return m === 0 || Number.isNaN(m) ? null : median(ours) / m
}

function check (value: number, target: Target): boolean {
  if (target.op === '>=') return value >= target.value
  if (target.op === '<=') return value <= target.value
  return value === target.value
}

/**
 * A line judged on ours / peer. With repetitions run in pairs, the ratio is the median of
 * the pairs' ratios: drift on a shared machine moves both sides of a pair together.
 */
export function ratioLine (base: Omit<Line, 'ratio' | 'pass' | 'target'>, target: Omit<Target, 'unit'> | null): Line {
  const ratio = base.samples !== undefined
    ? pairedRatio(base.samples.ours, base.samples.peer)
    : base.peer === null || base.peer === 0 ? null : base.ours / base.peer
  const t = target === null ? null : { ...target, unit: 'x' }
  return { ...base, ratio, target: t, pass: t === null || ratio === null ? null : check(ratio, t) }
}

/** A line judged on ours alone (an upstream fetch count, a peak RSS). */
export function absoluteLine (base: Omit<Line, 'ratio' | 'pass' | 'target'>, target: Target | null): Line {
  const ratio = base.peer === null || base.peer === 0 ? null : base.ours / base.peer
  return { ...base, ratio, target, pass: target === null ? null : check(base.ours, target) }
}

/** A measure that could not run: one line that says why. */
export function failedLine (measure: number, title: string, message: string): Line {
  return { measure, title, case: 'did not complete', unit: '', ours: Number.NaN, peer: null, ratio: null, target: null, pass: false, note: message.split('\n')[0].slice(0, 200) }
}

export function median (values: number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** (max - min) / median, as a percentage: how far apart the repetitions were. */
export function spread (values: number[]): number {
  if (values.length < 2) return 0
  const m = median(values)
  return m === 0 ? 0 : (Math.max(...values) - Math.min(...values)) / m * 100
}

export function formatValue (value: number | null, unit: string): string {
  if (value === null || Number.isNaN(value)) return '—'
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  return unit === '' ? text : `${text} ${unit}`
}

function formatTarget (target: Target | null): string {
  if (target === null) return '(printed)'
  const op = target.op === '>=' ? '≥' : target.op === '<=' ? '≤' : '='
  return target.unit === 'x' ? `${op} ${target.value}x` : `${op} ${target.value}${target.unit === '' ? '' : ` ${target.unit}`}`
}

function verdict (pass: boolean | null): string {
  return pass === null ? '' : pass ? 'ok' : 'MISS'
}

/** The nginx cell: its figure and ours / nginx, "not installed", or blank where it does not apply. */
function nginxCell (l: Line): string {
  if (l.nginx === undefined) return ''
  if (l.nginx === null) return 'not installed'
  return `${formatValue(l.nginx, l.unit)}${l.nginxRatio === null || l.nginxRatio === undefined ? '' : ` (${l.nginxRatio.toFixed(2)}x)`}`
}

/** The lines as a Markdown table (readable as plain text too); an nginx column when any line has one. */
export function formatTable (lines: Line[]): string {
  const withNginx = lines.some((l) => l.nginx !== undefined)
  const rows = [['#', 'measure', 'ours', 'peer', ...(withNginx ? ['nginx (ours/nginx)'] : []), 'ratio', 'target', '']]
  for (const l of lines) {
    const peer = l.peer === null ? (l.peerLabel ?? '—') : `${formatValue(l.peer, l.unit)}${l.peerLabel === undefined ? '' : ` (${l.peerLabel})`}`
    rows.push([
      String(l.measure),
      `${l.title}: ${l.case}${l.note === undefined ? '' : ` [${l.note}]`}`,
      formatValue(l.ours, l.unit),
      peer,
      ...(withNginx ? [nginxCell(l)] : []),
      l.ratio === null ? '—' : `${l.ratio.toFixed(2)}x`,
      formatTarget(l.target),
      verdict(l.pass)
    ])
  }
  // The figures and the ratio are right-aligned: from "ours" to "ratio".
  const last = withNginx ? 5 : 4
  const right = (i: number): boolean => i >= 2 && i <= last
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const fmt = (r: string[]): string => `| ${r.map((c, i) => right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (right(i) ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`
  return [fmt(rows[0]), rule, ...rows.slice(1).map(fmt)].join('\n')
}
