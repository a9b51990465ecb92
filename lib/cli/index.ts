#!/usr/bin/env node
import { run } from './program'

// Let pending output drain instead of process.exit(); the unref'd timer only ends a process
// that something (a stray handle) would keep alive.
run(process.argv).then((code) => {
  process.exitCode = code
  setTimeout(() => process.exit(code), 2000).unref()
}, (err: unknown) => {
  process.stderr.write(`pulp-middleware: ${String(err)}\n`)
  process.exitCode = 1
})
