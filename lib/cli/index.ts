#!/usr/bin/env node
import { run } from './program'

// Exit as soon as the output is out: an idle keep-alive socket or a library's timer must not
// hold a finished command open.
run(process.argv).then((code) => {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}, (err: unknown) => {
  process.stderr.write(`pulp-middleware: ${String(err)}\n`, () => process.exit(1))
})
