/**
 * Summarises V8 CPU profiles (`--profile` writes them for the servers under test):
 * self time per function, heaviest first, and the share of time in our own code.
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/CPU.*.cpuprofile [--top=25]
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

function where (url: string, line: number): string {
  if (url === '') return ''
  // Servers run transpiled from the bench build; show the source path.
  const file = url.replace(/^file:\/\//, '').replace(/node_modules\/\.cache\/pulp-bench\/run-\d+\/(lib|bench)\/(.*)\.js$/, '$1/$2.ts')
  const rel = path.relative(process.cwd(), file)
  return `${rel.startsWith('..') ? file : rel}:${line + 1}`
}

function summarise (file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    const dt = profile.timeDeltas[i] ?? 0
    if (node === undefined) continue
    total += dt
    const key = `${node.callFrame.functionName || '(anonymous)'} ${where(node.callFrame.url, node.callFrame.lineNumber)}`
    self.set(key, (self.get(key) ?? 0) + dt)
  }
  const idle = [...self.entries()].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0)
  const busy = total - idle
  const ours = [...self.entries()].filter(([k]) => k.includes(' lib/')).reduce((s, [, v]) => s + v, 0)
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy, ${(ours / Math.max(busy, 1) * 100).toFixed(1)}% of it in lib/\n`)
  const rows = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [key, us] of rows) process.stdout.write(`  ${(us / Math.max(busy, 1) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}\n`)
}

const args = process.argv.slice(2)
const topArg = args.find((a) => a.startsWith('--top='))
const top = topArg === undefined ? 25 : Number(topArg.slice(6))
for (const file of args.filter((a) => !a.startsWith('--'))) summarise(file, top)
