// Fails when the folders of lib/ depend on each other in a cycle. Each folder directly under
// lib/ is one node (lib/plugins/deb/ counts as plugins), each file directly in lib/ another;
// `import ... from './x'`, `export ... from`, `import('./x')` and `require('./x')` are edges.
// Type-only imports count too (a cycle of types is still two folders that cannot be read
// apart); `--runtime` leaves them out. Prints every group of folders that reach each other
// with the imports that tie them, and exits 1 if there is one. Usage:
//   node scripts/check-cycles.js [--runtime] [dir, default lib]
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const args = process.argv.slice(2)
const runtimeOnly = args.includes('--runtime')
const root = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(__dirname, '..', 'lib'))

const STATIC = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([\s\S]*?)\s*from\s*['"]([^'"]+)['"]/g
const BARE = /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g
const CALLS = /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g

/** Whether an import's clause brings in types only: `import type`, or `{ type A, type B }`. */
function typeOnly (typeKeyword, clause) {
  if (typeKeyword !== undefined) return true
  const braces = clause.match(/^\{([\s\S]*)\}$/)
  if (braces === null) return false
  const names = braces[1].split(',').map((s) => s.trim()).filter((s) => s !== '')
  return names.length > 0 && names.every((n) => n.startsWith('type '))
}

/** The relative specifiers `source` imports: `[{ spec, types }]`. */
function importsOf (source) {
  // Comments may quote import lines; strings rarely hold `from '...'`.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
  const out = []
  for (const m of code.matchAll(STATIC)) out.push({ spec: m[4], types: typeOnly(m[2], m[3].trim()) })
  for (const m of code.matchAll(BARE)) out.push({ spec: m[1], types: false })
  for (const m of code.matchAll(CALLS)) out.push({ spec: m[1], types: false })
  return out.filter((i) => i.spec.startsWith('.'))
}

function filesUnder (dir) {
  return fs.readdirSync(dir, { recursive: true })
    .filter((f) => /\.(c|m)?ts$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f))
}

/** The node a file belongs to: its top folder under root, or the file itself at the top. */
function nodeOf (file) {
  const rel = path.relative(root, file)
  if (rel.startsWith('..')) return undefined
  const parts = rel.split(path.sep)
  return parts.length === 1 ? parts[0].replace(/\.(c|m)?ts$/, '.ts') : `${parts[0]}/`
}

/** node -> node -> the first import seen that makes that edge, as "file -> spec". */
const edges = new Map()
for (const file of filesUnder(root)) {
  const from = nodeOf(file)
  for (const { spec, types } of importsOf(fs.readFileSync(file, 'utf8'))) {
    if (types && runtimeOnly) continue
    const to = nodeOf(path.resolve(path.dirname(file), spec))
    if (to === undefined || to === from) continue
    if (!edges.has(from)) edges.set(from, new Map())
    const out = edges.get(from)
    if (!out.has(to)) out.set(to, `${path.relative(process.cwd(), file)} -> '${spec}'${types ? ' (types)' : ''}`)
  }
}

// Tarjan's strongly connected components: every group of nodes that reach one another.
const index = new Map()
const low = new Map()
const stack = []
const onStack = new Set()
const groups = []
let counter = 0
function visit (v) {
  index.set(v, counter)
  low.set(v, counter++)
  stack.push(v)
  onStack.add(v)
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!index.has(w)) {
      visit(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), index.get(w)))
    }
  }
  if (low.get(v) === index.get(v)) {
    const group = []
    let w
    do {
      w = stack.pop()
      onStack.delete(w)
      group.push(w)
    } while (w !== v)
    if (group.length > 1) groups.push(group.sort())
  }
}
for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v)

const where = path.relative(process.cwd(), root) || '.'
if (groups.length === 0) {
  console.log(`no folder cycles in ${where}${runtimeOnly ? ' (runtime imports)' : ''}`)
  process.exit(0)
}
for (const group of groups) {
  console.log(`cycle: ${group.join(' ')}`)
  for (const from of group) {
    for (const [to, example] of edges.get(from) ?? []) {
      if (group.includes(to)) console.log(`  ${from} -> ${to}: ${example}`)
    }
  }
}
console.log(`${groups.length} folder cycle${groups.length > 1 ? 's' : ''} in ${where}${runtimeOnly ? ' (runtime imports)' : ''}`)
process.exit(1)
