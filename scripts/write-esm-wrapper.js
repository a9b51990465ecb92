// Writes dist/index.mjs: an ES module that re-exports the CommonJS build by name, so
// `import { pulpMiddleware } from 'pulp-middleware'` and `require(...)` share one copy.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const dist = path.join(__dirname, '..', 'dist')
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== '__esModule' && n !== 'default')
const lines = [
  "import cjs from './index.js'",
  `export const { ${names.join(', ')} } = cjs`,
  'export default cjs',
  ''
]
fs.writeFileSync(path.join(dist, 'index.mjs'), lines.join('\n'))
fs.writeFileSync(path.join(dist, 'index.d.mts'), "export * from './index.js'\nexport { default } from './index.js'\n")
// The `pulp-middleware` bin runs by its shebang, so it must be executable (tsc writes 0644).
fs.chmodSync(path.join(dist, 'cli', 'index.js'), 0o755)
