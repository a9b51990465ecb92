import { Option, type Command } from 'commander'
import { CommandError } from '../errors'
import type { ApiClient } from './client'
import { formatRecord, formatTable, print, type Output } from './output'

type Page = { count: number, results: Array<Record<string, unknown>> }
/** Wraps an action with the client and output its command's options ask for. */
export type Wrap = <A extends unknown[]>(
  action: (client: ApiClient, out: Output, ...args: A) => Promise<void>
) => (...args: unknown[]) => Promise<void>

function withPage (cmd: Command): Command {
  return cmd.addOption(new Option('--limit <n>', 'at most this many (the server caps it at 1000)').default('100'))
    .addOption(new Option('--offset <n>', 'skip this many').default('0'))
}

const enc = encodeURIComponent

async function showList (
  client: ApiClient,
  out: Output,
  path: string,
  columns: string[],
  query: Record<string, string | undefined>
): Promise<void> {
  const page = await client.json<Page>('GET', path, { query })
  print(out, page, () => formatTable(page.results, columns, page.count))
}

async function showOne (client: ApiClient, out: Output, method: 'GET' | 'POST', path: string, body?: unknown): Promise<void> {
  const record = await client.json<Record<string, unknown>>(method, path, body === undefined ? {} : { body })
  print(out, record, () => formatRecord(record))
}

function jsonOption (value: string | undefined, name: string): unknown {
  if (value === undefined) return undefined
  try {
    return JSON.parse(value)
  } catch {
    throw new CommandError(`${name} is not JSON: ${value}`, 2)
  }
}

/** A byte count as a number; anything else is sent as given, for the server's message to explain. */
function byteLimit (value: string | undefined): unknown {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : value
}

/** Drops options the user did not give, so the server applies its own defaults. */
function given (fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))
}

/** `status`, `tasks`, `repo`, `distributor`, `remote`, `distribution`: thin wrappers of the REST API. */
export function addResourceCommands (program: Command, client: (cmd: Command) => Command, wrap: Wrap): void {
  client(program.command('status').description('the server\'s versions, database, runner, disk usage and remote health'))
    .action(wrap(async (c, out) => { await showOne(c, out, 'GET', '/status') }))

  withPage(client(program.command('tasks').description('list tasks, newest first')))
    .option('--state <state>', 'only tasks in this state (waiting, running, finished, failed, canceled, skipped)')
    .option('--repo <id>', 'only tasks of this repository')
    .action(wrap(async (c, out, opts: { state?: string, repo?: string, limit: string, offset: string }) => {
      await showList(c, out, '/tasks', ['task_id', 'state', 'repo_id', 'distributor_id', 'created', 'finished'],
        { state: opts.state, repo_id: opts.repo, limit: opts.limit, offset: opts.offset })
    }))

  const repo = program.command('repo').description('repositories')
  client(repo.command('create <id>').description('create a repository'))
    .option('--display-name <name>').option('--description <text>')
    .action(wrap(async (c, out, id: string, opts: { displayName?: string, description?: string }) => {
      await showOne(c, out, 'POST', '/repositories', given({ id, display_name: opts.displayName, description: opts.description }))
    }))
  withPage(client(repo.command('list').description('list repositories')))
    .action(wrap(async (c, out, opts: { limit: string, offset: string }) => {
      await showList(c, out, '/repositories', ['id', 'total_repository_units', 'display_name', 'updated'], opts)
    }))
  client(repo.command('show <id>').description('read a repository'))
    .action(wrap(async (c, out, id: string) => { await showOne(c, out, 'GET', `/repositories/${enc(id)}`) }))
  client(repo.command('delete <id>').description('delete a repository (its distributors unpublish first)'))
    .action(wrap(async (c, out, id: string) => {
      await c.json('DELETE', `/repositories/${enc(id)}`)
      print(out, { deleted: id }, () => `deleted repository ${id}`)
    }))

  const distributor = program.command('distributor').description('distributors: how a repository is published')
  client(distributor.command('add <repo> <type>').description('add a distributor (e.g. web) to a repository'))
    .option('--id <id>', 'distributor id (default: the type)')
    .option('--config <json>', 'distributor_config as a JSON object, e.g. \'{"relative_url":"site"}\'')
    .option('--auto-publish', 'publish after each content change')
    .action(wrap(async (c, out, repoId: string, type: string, opts: { id?: string, config?: string, autoPublish?: boolean }) => {
      await showOne(c, out, 'POST', `/repositories/${enc(repoId)}/distributors`,
        given({ distributor_type_id: type, distributor_id: opts.id, distributor_config: jsonOption(opts.config, '--config'), auto_publish: opts.autoPublish }))
    }))
  withPage(client(distributor.command('list <repo>').description('list a repository\'s distributors')))
    .action(wrap(async (c, out, repoId: string, opts: { limit: string, offset: string }) => {
      await showList(c, out, `/repositories/${enc(repoId)}/distributors`, ['id', 'distributor_type_id', 'auto_publish', 'last_publish'], opts)
    }))

  const remote = program.command('remote').description('remotes for pull-through caching')
  client(remote.command('create <name> <url>').description('create a remote'))
    .option('--type <type>', 'remote type (file, python, npm, ...)')
    .option('--policy <policy>', 'on_demand (save what is pulled) or streamed (save nothing)')
    .action(wrap(async (c, out, name: string, url: string, opts: { type?: string, policy?: string }) => {
      await showOne(c, out, 'POST', '/remotes', given({ name, url, remote_type_id: opts.type, policy: opts.policy }))
    }))
  withPage(client(remote.command('list').description('list remotes')))
    .action(wrap(async (c, out, opts: { limit: string, offset: string }) => {
      await showList(c, out, '/remotes', ['name', 'remote_type_id', 'policy', 'url'], opts)
    }))
  client(remote.command('show <name>').description('read a remote (header values masked)'))
    .action(wrap(async (c, out, name: string) => { await showOne(c, out, 'GET', `/remotes/${enc(name)}`) }))

  const distribution = program.command('distribution').description('distributions: where a repository or remote is served')
  client(distribution.command('create <name> <base_path>').description('create a distribution'))
    .option('--repository <id>', 'serve this repository\'s content')
    .option('--remote <name>', 'pull through from this remote')
    .option('--cache-max-bytes <n>', 'keep at most this many bytes of pulled files (least recently served are evicted, pulled again when asked)')
    .action(wrap(async (c, out, name: string, basePath: string, opts: { repository?: string, remote?: string, cacheMaxBytes?: string }) => {
      await showOne(c, out, 'POST', '/distributions', given({
        name, base_path: basePath, repository: opts.repository, remote: opts.remote, cache_max_bytes: byteLimit(opts.cacheMaxBytes)
      }))
    }))
  withPage(client(distribution.command('list').description('list distributions')))
    .action(wrap(async (c, out, opts: { limit: string, offset: string }) => {
      await showList(c, out, '/distributions', ['name', 'base_path', 'repository', 'remote', 'cache_max_bytes'], opts)
    }))
  client(distribution.command('show <name>').description('read a distribution'))
    .action(wrap(async (c, out, name: string) => { await showOne(c, out, 'GET', `/distributions/${enc(name)}`) }))
}
