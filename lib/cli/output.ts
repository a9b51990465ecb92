/** How a command prints: JSON for scripts, or short lines for people. Only results go to stdout. */
export interface Output {
  json: boolean
}

function cell (value: unknown): string {
  if (value === null || value === undefined) return '-'
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** One `key: value` line per field. */
export function formatRecord (record: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(record).map((k) => k.length))
  return Object.entries(record).map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n')
}

/** A table of `columns` (a page's `results`), then its count. */
export function formatTable (rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[], count = rows.length): string {
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((row) => columns.map((c) => cell(row[c])))]
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const lines = cells.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  '))
  return [...lines, `(${rows.length} of ${count})`].join('\n')
}

export function print (out: Output, value: unknown, human: () => string): void {
  process.stdout.write(out.json ? `${JSON.stringify(value)}\n` : `${human()}\n`)
}
