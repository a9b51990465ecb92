import { readFileSync } from 'node:fs'
import path from 'node:path'

/** This package's version, read once from its package.json (next to `lib/` and `dist/`). */
export const version: string = (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version
