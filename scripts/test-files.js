// Lists test/**/*.test.ts for `npm test`: Node 20's runner does not expand globs itself.
// `--unit` lists the fast tier (`npm run test:unit`) instead: the files that start no
// database, no child process, no real client (apt, pip, npm, git, curl, a browser), no nginx
// and no middleware, so the whole tier runs in about half a minute on two cores. A file named
// here that no longer exists fails the listing, so a move cannot drop it from the tier unnoticed.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const UNIT = [
  'artifacts/file-hasher.test.ts',
  'artifacts/store.test.ts',
  'http/accel.test.ts',
  'content/conditional.test.ts',
  'content/directories.test.ts',
  'content/file-headers.test.ts',
  'content/index-files.test.ts',
  'content/malicious-paths.test.ts',
  'http/path-properties.test.ts',
  'http/paths.test.ts',
  'content/range.test.ts',
  'static-tree/resolution-cache.test.ts',
  'http/send-file.test.ts',
  'content/streaming.test.ts',
  'content/subtrees.test.ts',
  'content/symlinks.test.ts',
  'options.test.ts',
  'plugins/config.test.ts',
  'plugins/deb-paths.test.ts',
  'plugins/npm-origin.test.ts',
  'plugins/npm-packument.test.ts',
  'plugins/npm-paths.test.ts',
  'plugins/npm-remote.test.ts',
  'plugins/npm-variant.test.ts',
  'plugins/python-page.test.ts',
  'pull-through/freshness-hooks.test.ts',
  'pull-through/hooks.test.ts'
]

const root = path.join(__dirname, '..', 'test')
let files
if (process.argv.includes('--unit')) {
  const missing = UNIT.filter((f) => !fs.existsSync(path.join(root, f)))
  if (missing.length > 0) {
    process.stderr.write(`scripts/test-files.js: the unit tier names files that do not exist: ${missing.join(', ')}\n`)
    process.exit(1)
  }
  files = UNIT.map((f) => path.join('test', f))
} else {
  files = fs.readdirSync(root, { recursive: true })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', f))
    .sort()
}
process.stdout.write(files.join('\n'))
