import { existsSync } from 'node:fs'
import path from 'node:path'

/** The programs the real-client suite runs, each with the Debian package that brings it. */
export const CLIENTS = {
  'apt-get': 'apt',
  'apt-ftparchive': 'apt-utils',
  'dpkg-deb': 'dpkg',
  python3: 'python3-pip',
  git: 'git',
  npm: 'npm',
  wget: 'wget',
  curl: 'curl',
  chromium: 'chromium'
} as const

export type Client = keyof typeof CLIENTS

/** True when `binary` is an executable on PATH (or, for Chromium, Debian's /usr/bin/chromium). */
export function installed (binary: Client): boolean {
  if (binary === 'chromium') return existsSync('/usr/bin/chromium')
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, binary)))
}

/**
 * The `skip` option for a test that needs these clients. Outside CI a missing client skips with
 * the package to install; with CI=true nothing is skipped, so the test fails where it runs the
 * program (and test/clients/installed.test.ts names what is missing).
 */
export function skipUnless (...binaries: Client[]): string | false {
  const missing = binaries.filter((b) => !installed(b))
  if (missing.length === 0 || process.env.CI === 'true') return false
  return `not installed: ${missing.join(', ')} (apt-get install -y ${missing.map((b) => CLIENTS[b]).join(' ')})`
}
