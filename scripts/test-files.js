// Lists test/**/*.test.ts for `npm test`: Node 20's runner does not expand globs itself.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..', 'test')
const files = fs.readdirSync(root, { recursive: true })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.join('test', f))
  .sort()
process.stdout.write(files.join('\n'))
