import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { version } from '../version'
import { CommandError } from '../errors'
import { ApiClient, oneLine } from './client'
import { formatBytes, TransferBar } from './progress'
import { print, type Output } from './output'
import { DigestCache } from './digest-cache'
import { push } from './push'
import { publish, taskFailure } from './publish'
import { addResourceCommands, type Wrap } from './resources'

export const DEFAULT_URL = 'http://127.0.0.1:8080/pulp'

/** Exit code of a command line the parser refused (unknown option, missing argument). */
export const USAGE_EXIT = 2

function positiveInt (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1')
  return n
}

/** Gives a client command its `--url`, `--token` and `--json`. */
function clientOptions (cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'where the middleware is mounted').env('PULP_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'sent as "Authorization: Bearer <token>"').env('PULP_TOKEN'))
    .option('--json', 'print JSON for scripts')
}

/** Runs an action with a client built from its command's options, closing it afterwards. */
const wrap: Wrap = (action) => async (...args: unknown[]) => {
  const cmd = args[args.length - 1] as Command
  const opts = cmd.opts<{ url: string, token?: string, json?: boolean, concurrency?: number }>()
  const client = new ApiClient({ url: opts.url, token: opts.token, connections: opts.concurrency })
  try {
    await action(client, { json: opts.json === true }, ...args.slice(0, -1) as never)
  } finally {
    await client.close()
  }
}

/** Whether to draw progress bars: only for people at a terminal. */
function showBar (out: Output): boolean {
  return !out.json && process.stderr.isTTY === true
}

export function buildProgram (): Command {
  const program = new Command('pulp-middleware')
    .description('Run pulp-middleware as a server, push directories into repositories, publish and inspect them')
    .version(version)
    .exitOverride()
    .showSuggestionAfterError()

  program.command('serve')
    .description('run a standalone server: the middleware at /pulp of an Express app')
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('PULP_PORT').default('8080'))
    .addOption(new Option('--host <host>', 'address to listen on').env('PULP_HOST').default('127.0.0.1'))
    .addOption(new Option('--data-dir <dir>', 'artifacts, publications and the default database').env('PULP_DATA_DIR').default('./pulp-data'))
    .addOption(new Option('--database <url>', 'postgres://... for PostgreSQL, else a SQLite file (default <data-dir>/pulp.sqlite)').env('PULP_DATABASE_URL'))
    .option('--json', 'print the addresses as one JSON line')
    .action(async (opts: { port: string, host: string, dataDir: string, database?: string, json?: boolean }) => {
      // Loaded here: the client commands start in half the time without Express and knex.
      const { serve } = await import('./serve')
      const served = await serve(opts)
      const info = { url: served.url, api: `${served.url}/api/v1`, content: `${served.url}/content/`, data_dir: served.dataDir, database: served.database }
      print({ json: opts.json === true }, info, () => [
        `pulp-middleware ${version} listening on ${info.url}`,
        `  API      ${info.api}`,
        `  content  ${info.content}`,
        `  data     ${info.data_dir} (${info.database})`,
        'Ctrl-C stops it.'
      ].join('\n'))
      await served.closed
    })

  clientOptions(program.command('push <repo> <dir>'))
    .description('upload a directory tree into a repository, paths kept; files it already has are skipped')
    .option('--delete', 'remove units whose path is no longer in the directory')
    .option('--concurrency <n>', 'upload requests in flight', positiveInt, 4)
    .option('--rehash', 'read and hash every file again, ignoring the digests remembered from earlier pushes ' +
      '($XDG_CACHE_HOME/pulp-middleware/push/, else ~/.cache/pulp-middleware/push/)')
    .addOption(new Option('--files-per-request <n>').argParser(positiveInt).hideHelp())
    .addOption(new Option('--bytes-per-request <n>').argParser(positiveInt).hideHelp())
    .action(wrap(async (client, out, repo: string, dir: string, opts: {
      delete?: boolean, concurrency: number, filesPerRequest?: number, bytesPerRequest?: number, rehash?: boolean, url: string
    }) => {
      const digests = DigestCache.open(opts.url, repo, dir, { fresh: opts.rehash === true })
      const summary = await push(client, repo, dir, { ...opts, digests, bar: new TransferBar(showBar(out)) })
      print(out, summary, () => `pushed ${dir} to ${repo}: ${summary.added} added, ${summary.replaced} replaced, ` +
        `${summary.unchanged} unchanged, ${summary.removed} removed, ${formatBytes(summary.bytes)} in ${summary.seconds.toFixed(2)} s ` +
        `(${summary.uploads} upload request${summary.uploads === 1 ? '' : 's'})`)
    }))

  clientOptions(program.command('publish <repo> <distributor>'))
    .description('queue a publish of a repository by one of its distributors')
    .option('--wait', 'follow the task to its end (progress bar on a terminal); exit 3 if it failed or was canceled')
    .action(wrap(async (client, out, repo: string, distributor: string, opts: { wait?: boolean }) => {
      const task = await publish(client, repo, distributor, { wait: opts.wait === true, showBar: showBar(out) })
      const failure = taskFailure(task)
      if (out.json) print(out, task, () => '')
      else if (failure === undefined) print(out, task, () => `task ${task.task_id} ${task.state}`)
      if (failure !== undefined) throw failure
    }))

  addResourceCommands(program, clientOptions, wrap)
  return program
}

/** Parses `argv` and runs the command; resolves with the process's exit code. */
export async function run (argv: readonly string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync([...argv])
    return 0
  } catch (err: unknown) {
    // Commander has already printed its own one-line message (or the help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_EXIT
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`pulp-middleware: ${oneLine(message)}\n`)
    return err instanceof CommandError ? err.exitCode : 1
  }
}
