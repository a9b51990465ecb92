import assert from 'node:assert/strict'

/** `name{labels} value` lines of the Prometheus text format, by their `name{labels}`. */
export function parseMetrics (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** GET `<api>/metrics` of an instance listening on `port`, parsed. */
export async function scrapeMetrics (port: number, api: string): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}${api}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parseMetrics(await res.text())
}
