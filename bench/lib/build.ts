/**
 * The servers under test run as plain JavaScript, as they would in production: under the
 * tsx loader a pulp server idles at ~123 MB RSS instead of ~81 MB (the loader's hook thread
 * and compile caches), which would swamp the memory measure. `lib/` and `bench/` are
 * transpiled (no type check: `npm run typecheck` does that) into node_modules/.cache, where
 * the project's node_modules still resolve; `dist/` is left alone for the other suites.
 */
import path from 'node:path'
import { rmSync } from 'node:fs'
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import ts from 'typescript'

const CACHE = path.join('node_modules', '.cache', 'pulp-bench')
// This file runs from bench/lib/ and, transpiled, from <CACHE>/run-<pid>/bench/lib/.
const HERE = path.resolve(__dirname, '..', '..')
const inCache = HERE.indexOf(path.sep + CACHE + path.sep)
export const PROJECT_ROOT = inCache === -1 ? HERE : HERE.slice(0, inCache)
const CACHE_DIR = path.join(PROJECT_ROOT, CACHE)

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  sourceMap: false
}

async function * tsFiles (dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'results' && entry.name !== 'profiles') yield * tsFiles(full)
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      yield full
    }
  }
}

/** Whether process `pid` still runs (on this machine). */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the builds of runs that are no longer running (an interrupted run leaves its own). */
async function pruneBuilds (): Promise<void> {
  const entries = await readdir(CACHE_DIR).catch(() => [] as string[])
  for (const name of entries) {
    const pid = /^run-(\d+)$/.exec(name)?.[1]
    if (pid !== undefined && !alive(Number(pid))) await rm(path.join(CACHE_DIR, name), { recursive: true, force: true })
  }
}

/** Transpiles `lib/` and `bench/` into `buildDir`; answers the number of files. */
export async function buildForBench (buildDir: string): Promise<number> {
  await rm(buildDir, { recursive: true, force: true })
  let count = 0
  for (const top of ['lib', 'bench']) {
    for await (const file of tsFiles(path.join(PROJECT_ROOT, top))) {
      const out = path.join(buildDir, path.relative(PROJECT_ROOT, file)).replace(/\.ts$/, '.js')
      const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions: OPTIONS, fileName: file })
      await mkdir(path.dirname(out), { recursive: true })
      await writeFile(out, outputText)
      count++
    }
  }
  // lib/version.ts reads the package.json next to its directory.
  await copyFile(path.join(PROJECT_ROOT, 'package.json'), path.join(buildDir, 'package.json'))
  return count
}

/**
 * Builds for this run, unless a parent run did (it says where in BENCH_BUILT). Each run has a
 * build of its own, so two runs (or a run and the smoke test) never replace each other's
 * files; it is removed when the process that made it exits.
 */
export async function ensureBuilt (): Promise<string> {
  const given = process.env.BENCH_BUILT
  if (given !== undefined) return given
  await pruneBuilds()
  const buildDir = path.join(CACHE_DIR, `run-${process.pid}`)
  process.once('exit', () => { rmSync(buildDir, { recursive: true, force: true }) })
  await buildForBench(buildDir)
  process.env.BENCH_BUILT = buildDir
  return buildDir
}
