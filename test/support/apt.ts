import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { readTree } from './clients'

const run = promisify(execFile)

/** A binary package to build: arch `all`, the given files installed at their (relative) paths. */
export interface DebSpec {
  name: string
  version: string
  files: Record<string, string | Buffer>
  description?: string
}

export interface BuiltDeb {
  name: string
  version: string
  /** `<name>_<version>_all.deb`, the name apt-get download gives it. */
  fileName: string
  path: string
  bytes: Buffer
}

/** Builds `<name>_<version>_all.deb` into `outDir` with `dpkg-deb --build`. */
export async function buildDeb (outDir: string, spec: DebSpec): Promise<BuiltDeb> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'deb-src-'))
  try {
    await mkdir(path.join(work, 'DEBIAN'))
    await writeFile(path.join(work, 'DEBIAN', 'control'), [
      `Package: ${spec.name}`,
      `Version: ${spec.version}`,
      'Architecture: all',
      'Maintainer: Pulp Middleware Tests <tests@example.invalid>',
      `Description: ${spec.description ?? `test package ${spec.name}`}`,
      ''
    ].join('\n'))
    for (const [rel, content] of Object.entries(spec.files)) {
      const target = path.join(work, rel)
      await mkdir(path.dirname(target), { recursive: true })
      await writeFile(target, content)
    }
    await mkdir(outDir, { recursive: true })
    const fileName = `${spec.name}_${spec.version}_all.deb`
    const out = path.join(outDir, fileName)
    // --root-owner-group: the archive must not depend on who runs the tests.
    await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', work, out])
    return { name: spec.name, version: spec.version, fileName, path: out, bytes: await readFile(out) }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

export interface DistsRepoOptions {
  suite?: string
  component?: string
  /** Writes `Acquire-By-Hash: yes` and a `by-hash/SHA256/<hash>` copy of every index. */
  byHash?: boolean
  /** Also writes `InRelease` and `Release.gpg` (see signRelease). */
  sign?: boolean
}

export interface AptRepo {
  root: string
  /** Every file of the repository, keyed by its path relative to `root` (forward slashes). */
  files: Record<string, Buffer>
  /** The sources.list line for a repository published at `url` (no trailing slash needed). */
  sourcesLine: (url: string) => string
}

/** Writes `Packages` (from apt-ftparchive, run in `cwd` over `scanDir`) and `Packages.gz` into `indexDir`. */
async function writePackages (cwd: string, scanDir: string, indexDir: string): Promise<void> {
  const { stdout } = await run('apt-ftparchive', ['packages', scanDir], { cwd, maxBuffer: 64 << 20 })
  await mkdir(indexDir, { recursive: true })
  await writeFile(path.join(indexDir, 'Packages'), stdout)
  await writeFile(path.join(indexDir, 'Packages.gz'), gzipSync(stdout, { level: 9 }))
}

/** `apt-ftparchive release` of `dir` (the old Release removed first so it does not list itself). */
async function writeRelease (dir: string, fields: Record<string, string>): Promise<void> {
  // SHA256 only: apt follows the strongest hash a Release names, and the by-hash copies are SHA256.
  const all = { ...fields, MD5: 'false', SHA1: 'false', SHA512: 'false' }
  const args = Object.entries(all).flatMap(([k, v]) => ['-o', `APT::FTPArchive::Release::${k}=${v}`])
  await rm(path.join(dir, 'Release'), { force: true })
  const { stdout } = await run('apt-ftparchive', [...args, 'release', '.'], { cwd: dir, maxBuffer: 16 << 20 })
  await writeFile(path.join(dir, 'Release'), stdout)
}

/**
 * Builds (or rebuilds) a `dists/<suite>/<component>/binary-all` repository in `root`, the debs in
 * `pool/<component>/`. Calling it again on the same root with more or newer packages makes a
 * second generation: indexes and Release are replaced, older `by-hash` copies stay, as on a real
 * archive whose clients may still hold the previous Release.
 */
export async function buildDistsRepo (root: string, debs: DebSpec[], options: DistsRepoOptions = {}): Promise<AptRepo> {
  const { suite = 'stable', component = 'main', byHash = false, sign = false } = options
  const pool = path.join(root, 'pool', component)
  for (const spec of debs) await buildDeb(pool, spec)
  const suiteDir = path.join(root, 'dists', suite)
  const indexDir = path.join(suiteDir, component, 'binary-all')
  await writePackages(root, `pool/${component}`, indexDir)
  if (byHash) {
    const hashDir = path.join(indexDir, 'by-hash', 'SHA256')
    await mkdir(hashDir, { recursive: true })
    for (const name of ['Packages', 'Packages.gz']) {
      const bytes = await readFile(path.join(indexDir, name))
      await writeFile(path.join(hashDir, createHash('sha256').update(bytes).digest('hex')), bytes)
    }
  }
  await writeRelease(suiteDir, {
    Suite: suite,
    Codename: suite,
    Architectures: 'all',
    Components: component,
    ...(byHash ? { 'Acquire-By-Hash': 'yes' } : {})
  })
  if (sign) await signRelease(suiteDir)
  return { root, files: await readTree(root), sourcesLine: (url) => `deb [trusted=yes] ${url} ${suite} ${component}` }
}

/**
 * Builds a flat repository in `root`: the debs, `Packages`, `Packages.gz` and `Release` side by
 * side, `Filename: ./<deb>` as `apt-ftparchive packages .` writes it; sources line `deb URL ./`.
 */
export async function buildFlatRepo (root: string, debs: DebSpec[]): Promise<AptRepo> {
  for (const spec of debs) await buildDeb(root, spec)
  await writePackages(root, '.', root)
  await writeRelease(root, { Suite: 'flat', Architectures: 'all' })
  return { root, files: await readTree(root), sourcesLine: (url) => `deb [trusted=yes] ${url} ./` }
}

/**
 * Signs the Release in `dir` as a real archive does: `InRelease` (clearsigned) and
 * `Release.gpg` (detached), with a throwaway ed25519 key. Clients still need `[trusted=yes]`.
 */
export async function signRelease (dir: string): Promise<void> {
  const gnupgHome = await mkdtemp(path.join(os.tmpdir(), 'gnupg-'))
  const env = { PATH: process.env.PATH, GNUPGHOME: gnupgHome }
  const gpg = async (...args: string[]): Promise<void> => { await run('gpg', ['--batch', '--quiet', '--yes', ...args], { env, cwd: dir }) }
  try {
    await gpg('--passphrase', '', '--quick-gen-key', 'Pulp Middleware Tests <tests@example.invalid>', 'ed25519', 'sign', 'never')
    await gpg('--clearsign', '--output', 'InRelease', 'Release')
    await gpg('--armor', '--detach-sign', '--output', 'Release.gpg', 'Release')
  } finally {
    // gpg started an agent for this home: stop it with the home it serves.
    await run('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => {})
    await rm(gnupgHome, { recursive: true, force: true })
  }
}

export interface AptResult {
  code: number
  stdout: string
  stderr: string
}

export interface AptDownload extends AptResult {
  /** The directory apt-get download ran in (where the .deb lands). */
  dir: string
  /** Files apt-get download left there, by name. */
  files: Record<string, Buffer>
}

/**
 * apt-get with a configuration of its own: reads nothing machine-wide (APT_CONFIG is an empty
 * file, every Dir:: it would read points into `home`), no date checks, no proxy, no privilege
 * drop (the `_apt` user cannot write a root-owned temp dir), nothing installed.
 */
export class AptClient {
  private constructor (readonly home: string, private readonly sourcesLines: string[]) {}

  static async create (sourcesLines: string[]): Promise<AptClient> {
    const home = await mkdtemp(path.join(os.tmpdir(), 'apt-client-'))
    for (const dir of ['empty', 'lists/partial', 'cache/archives/partial', 'log', 'download']) {
      await mkdir(path.join(home, dir), { recursive: true })
    }
    await writeFile(path.join(home, 'apt.conf'), '')
    await writeFile(path.join(home, 'sources.list'), sourcesLines.join('\n') + '\n')
    return new AptClient(home, sourcesLines)
  }

  private options (): string[] {
    const h = (rel: string): string => path.join(this.home, rel)
    const set: Record<string, string> = {
      'Dir::Etc::SourceList': h('sources.list'),
      'Dir::Etc::SourceParts': h('empty'),
      'Dir::Etc::Parts': h('empty'),
      'Dir::Etc::Preferences': h('empty/preferences'),
      'Dir::Etc::PreferencesParts': h('empty'),
      'Dir::Etc::Trusted': h('empty/trusted.gpg'),
      'Dir::Etc::TrustedParts': h('empty'),
      'Dir::State': h('.'),
      'Dir::State::Lists': h('lists'),
      'Dir::State::status': '/dev/null',
      'Dir::State::extended_states': h('extended_states'),
      'Dir::Cache': h('cache'),
      'Dir::Cache::Archives': h('cache/archives'),
      'Dir::Cache::pkgcache': '',
      'Dir::Cache::srcpkgcache': '',
      'Dir::Log': h('log'),
      'APT::Sandbox::User': 'root',
      'APT::Architectures': 'amd64',
      'Acquire::Languages': 'none',
      'Acquire::Check-Valid-Until': 'false',
      'Acquire::Check-Date': 'false',
      'Acquire::http::Proxy': 'DIRECT',
      'Acquire::Retries': '0',
      'Acquire::http::Timeout': '10',
      'Debug::NoLocking': '1'
    }
    return Object.entries(set).flatMap(([k, v]) => ['-o', `${k}=${v}`])
  }

  private async apt (args: string[], cwd: string): Promise<AptResult> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.home, LANG: 'C', LC_ALL: 'C', APT_CONFIG: path.join(this.home, 'apt.conf') }
    try {
      const { stdout, stderr } = await run('apt-get', [...this.options(), ...args], { cwd, env, timeout: 60_000 })
      return { code: 0, stdout, stderr }
    } catch (err: unknown) {
      const e = err as { code?: number | string, stdout?: string, stderr?: string }
      if (typeof e.code !== 'number') throw err
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
    }
  }

  async update (): Promise<AptResult> {
    return await this.apt(['update'], this.home)
  }

  /** `apt-get download PKG` (or `PKG=VERSION`) into a fresh directory; returns what landed there. */
  async download (pkg: string): Promise<AptDownload> {
    const dir = await mkdtemp(path.join(this.home, 'download', 'd-'))
    const result = await this.apt(['download', pkg], dir)
    return { ...result, dir, files: await readTree(dir) }
  }

  /** The index files apt keeps after an update (names under Dir::State::Lists). */
  async lists (): Promise<string[]> {
    return (await readdir(path.join(this.home, 'lists'))).filter((n) => n !== 'partial' && n !== 'lock').sort()
  }

  async cleanup (): Promise<void> {
    await rm(this.home, { recursive: true, force: true })
  }
}
