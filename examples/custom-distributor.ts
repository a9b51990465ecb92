/**
 * A custom distributor: it exports a repository's files into a directory named in its config.
 *
 *   npx tsx examples/custom-distributor.ts [export-directory]
 *
 * registers it, creates a small repository, publishes it and prints what was exported.
 */
import os from 'node:os'
import path from 'node:path'
import { constants, createReadStream, createWriteStream } from 'node:fs'
import { access, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import {
  Distributor, pulpMiddleware, type DistributorMetadata, type PluginConfig, type PublishConduit, type PublishReport, type PulpOptions,
  type Repository, type Task, type ValidationResult
} from '../lib'

/** The closest existing directory at or above `dir`: where a new directory would be created. */
async function nearestExisting (dir: string): Promise<string> {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      if ((await stat(d)).isDirectory()) return d
      throw new Error(`${d} is not a directory`)
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || d === path.dirname(d)) throw err
    }
  }
}

/** Copies every file of a repository to `<directory>/<relative path>`. */
export class ExportDistributor extends Distributor {
  static metadata (): DistributorMetadata {
    return { id: 'export', displayName: 'Directory export', types: ['file'] }
  }

  async validateConfig (_repo: Readonly<Repository>, config: PluginConfig): Promise<ValidationResult> {
    const directory = config.get('directory')
    if (typeof directory !== 'string' || !path.isAbsolute(directory)) {
      return { valid: false, message: '"directory" must be an absolute path' }
    }
    try {
      await access(await nearestExisting(directory), constants.W_OK)
    } catch {
      return { valid: false, message: `"directory" ${directory} is not writable` }
    }
    return { valid: true }
  }

  override async publishRepo (repo: Readonly<Repository>, conduit: PublishConduit, config: PluginConfig): Promise<PublishReport> {
    const directory = config.get<string>('directory')
    const total = repo.contentUnitCounts.file ?? 0
    let exported = 0
    try {
      for await (const unit of conduit.units()) {
        const target = path.join(directory, ...unit.relativePath.split('/'))
        await mkdir(path.dirname(target), { recursive: true })
        await pipeline(createReadStream(unit.storagePath), createWriteStream(target), { signal: conduit.signal })
        conduit.setProgress({ exported: ++exported, total })
      }
    } catch (err: unknown) {
      if (conduit.signal.aborted) return conduit.buildCancelReport('canceled', { exported })
      throw err
    }
    return conduit.buildSuccessReport({ exported, directory })
  }

  /** The copy loop stops on `conduit.signal`; there is nothing else to stop. */
  override async cancelPublishRepo (): Promise<void> {}
}

/**
 * Registers the distributor, publishes a two-file repository into `exportDir`, and reports.
 * `database` defaults to SQLite in a temporary data directory.
 */
export async function main (exportDir: string, log: (line: string) => void = console.log,
  database?: PulpOptions['database']): Promise<{ task: Task, files: string[] }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pulp-example-'))
  const pulp = pulpMiddleware({ dataDir, database, plugins: [{ distributors: [ExportDistributor] }] })
  try {
    await pulp.repositories.create({ id: 'site' })
    await pulp.repositories.addContent('site', { file: Buffer.from('<h1>Hello</h1>\n'), relativePath: 'index.html' })
    await pulp.repositories.addContent('site', { file: Buffer.from('body { color: teal }\n'), relativePath: 'css/site.css' })
    await pulp.distributors.add('site', { distributorTypeId: 'export', distributorConfig: { directory: exportDir } })
    const task = await pulp.tasks.wait((await pulp.publish('site', 'export')).taskId)
    log(`publish ${task.state}: ${JSON.stringify(task.result)}`)
    const files = (await readdir(exportDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
      .map((e) => path.relative(exportDir, path.join(e.parentPath, e.name))).sort()
    for (const file of files) log(`  ${file}`)
    return { task, files }
  } finally {
    await pulp.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (require.main === module) {
  const target = path.resolve(process.argv[2] ?? path.join(os.tmpdir(), `pulp-export-${process.pid}`))
  main(target).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
