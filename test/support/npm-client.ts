import { execFile } from 'node:child_process'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { isolatedEnv } from './clients'
import { tempDir } from './pulp'

const run = promisify(execFile)

export interface NpmRun {
  ok: boolean
  stdout: string
  stderr: string
  /** The project the install ran in. */
  project: string
}

export interface LockEntry { version: string, resolved?: string, integrity?: string }

/**
 * The real npm, isolated from this machine's settings: its own HOME, empty user and global
 * config files, no npm_config_ variables but ours, and the settings a machine may override
 * (the lockfile's `resolved`, audit, fund, the update check) given on every command line.
 * Every install runs in a new project directory with, unless told, a new cache directory.
 */
export class NpmClient {
  readonly #work: string
  readonly #env: NodeJS.ProcessEnv
  #runs = 0

  private constructor (work: string, env: NodeJS.ProcessEnv) {
    this.#work = work
    this.#env = env
  }

  static async create (): Promise<NpmClient> {
    const work = await tempDir('npm-client-')
    const home = path.join(work, 'home')
    await mkdir(home)
    const userRc = path.join(work, 'user-npmrc')
    const globalRc = path.join(work, 'global-npmrc')
    await writeFile(userRc, '')
    await writeFile(globalRc, '')
    return new NpmClient(work, isolatedEnv(home, { npm_config_userconfig: userRc, npm_config_globalconfig: globalRc }))
  }

  /** `npm config ls -l` as every command here sees it. */
  async config (): Promise<string> {
    return (await run('npm', ['config', 'ls', '-l', ...this.#settings()], { cwd: this.#work, env: this.#env, timeout: 60_000 })).stdout
  }

  /** A new cache directory for `install`'s `cache`. */
  newCache (): string {
    return path.join(this.#work, `cache-${++this.#runs}`)
  }

  /** `npm pack` of a package made of `files` (package.json included): the tarball's bytes. */
  async pack (name: string, files: Record<string, string>): Promise<Buffer> {
    const dir = path.join(this.#work, `package-${++this.#runs}`)
    await mkdir(dir)
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text)
    const { stdout } = await run('npm', ['pack', '--pack-destination', this.#work, ...this.#settings()], { cwd: dir, env: this.#env, timeout: 60_000 })
    const packed = stdout.trim().split('\n').pop() ?? ''
    if (!packed.startsWith(name)) throw new Error(`npm pack wrote ${JSON.stringify(packed)}, not a ${name} tarball`)
    return await readFile(path.join(this.#work, packed))
  }

  /** `npm install <specs>` from `registry` in a new project; never throws for npm's failure (nor does `ci`). */
  async install (registry: string, specs: string[], options: { cache?: string } = {}): Promise<NpmRun> {
    const project = path.join(this.#work, `project-${++this.#runs}`)
    await mkdir(project)
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'project', version: '0.0.0', private: true }))
    return await this.#npm(project, ['install', ...specs, '--registry', registry, '--cache', options.cache ?? this.newCache()])
  }

  /**
   * `npm ci` in a new project holding `from`'s package.json and lockfile (`lockfile` edits it
   * first), with a new cache directory.
   */
  async ci (registry: string, from: string, lockfile: (text: string) => string = (text) => text): Promise<NpmRun> {
    const project = path.join(this.#work, `project-${++this.#runs}`)
    await mkdir(project)
    await copyFile(path.join(from, 'package.json'), path.join(project, 'package.json'))
    await writeFile(path.join(project, 'package-lock.json'), lockfile(await readFile(path.join(from, 'package-lock.json'), 'utf8')))
    return await this.#npm(project, ['ci', '--registry', registry, '--cache', this.newCache()])
  }

  /** `npm outdated` in an installed project: asks for abbreviated packuments. */
  async outdated (registry: string, project: string): Promise<NpmRun> {
    return await this.#npm(project, ['outdated', '--registry', registry, '--cache', this.newCache()])
  }

  /** `npm view <name> name`: asks the registry for the packument. */
  async view (registry: string, name: string): Promise<NpmRun> {
    return await this.#npm(this.#work, ['view', name, 'name', '--registry', registry, '--cache', this.newCache()])
  }

  /** The lockfile entry of an installed package (`tiny-dep`, `@tiny/app`). */
  async lockEntry (project: string, name: string): Promise<LockEntry | undefined> {
    const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
    return lock.packages[`node_modules/${name}`]
  }

  /** What `require(name)` gives in the project: proves the package and its dependencies installed. */
  async load (project: string, name: string): Promise<string> {
    const { stdout } = await run(process.execPath, ['-p', `require(${JSON.stringify(name)})`], { cwd: project, env: this.#env, timeout: 30_000 })
    return stdout.trim()
  }

  async cleanup (): Promise<void> {
    await rm(this.#work, { recursive: true, force: true })
  }

  async #npm (project: string, args: string[]): Promise<NpmRun> {
    try {
      const { stdout, stderr } = await run('npm', [...args, ...this.#settings()], { cwd: project, env: this.#env, timeout: 120_000 })
      return { ok: true, stdout, stderr, project }
    } catch (err: unknown) {
      const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
      return { ok: false, stdout, stderr, project }
    }
  }

  #settings (): string[] {
    return ['--no-audit', '--no-fund', '--no-update-notifier', '--ignore-scripts', '--omit-lockfile-registry-resolved=false',
      '--fetch-retries=0', '--loglevel', 'error']
  }
}
