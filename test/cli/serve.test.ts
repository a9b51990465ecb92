import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { request } from 'undici'
import { CLI, runCli } from '../support/cli'
import { execFileAsync } from '../support/processes'
import { createPgDatabase, PG_SKIP_REASON } from '../support/databases'
import { stop } from '../support/processes'
import { tempDir } from '../support/pulp'

/** Starts `pulp-middleware serve` and resolves once it printed the line matching `ready`. */
async function startServe (
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp
): Promise<{ child: ReturnType<typeof spawn>, match: RegExpMatchArray, output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`serve did not start: ${out}`)) }, 20_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(ready)
      if (m !== null) { clearTimeout(timer); resolve(m) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code}: ${out}`)) })
  })
  return { child, match, output: () => out }
}

describe('pulp-middleware serve', () => {
  const dirs: string[] = []
  after(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }) })

  it('starts from flags, prints its URLs, answers the API and the CLI, and exits 0 on SIGTERM', async () => {
    const dataDir = await tempDir('pulp-cli-serve-')
    dirs.push(dataDir)
    const { child, match, output } = await startServe(['--port', '0', '--data-dir', dataDir], {}, /listening on (http:\/\/127\.0\.0\.1:\d+\/pulp)\n[^]*Ctrl-C/)
    const url = match[1]
    assert.ok(output().includes(`API      ${url}/api/v1`))
    assert.ok(output().includes(`content  ${url}/content/`))
    const res = await request(`${url}/api/v1/status`)
    assert.equal(res.statusCode, 200)
    assert.equal((await res.body.json() as { database: { dialect: string } }).database.dialect, 'sqlite')
    const status = await runCli(['status', '--json', '--url', url])
    assert.equal(status.code, 0, status.stderr)
    assert.equal(JSON.parse(status.stdout).database.reachable, true)
    assert.ok((await stat(path.join(dataDir, 'pulp.sqlite'))).isFile())
    assert.equal(await stop(child), 0)
  })

  it('takes PULP_PORT, PULP_HOST, PULP_DATA_DIR and PULP_DATABASE_URL (a SQLite file) from the environment, stopping on SIGINT', async () => {
    const dataDir = await tempDir('pulp-cli-serve-')
    dirs.push(dataDir)
    const dbFile = path.join(dataDir, 'elsewhere.sqlite')
    const { child, match } = await startServe(['--json'], { PULP_PORT: '0', PULP_HOST: '127.0.0.1', PULP_DATA_DIR: dataDir, PULP_DATABASE_URL: dbFile }, /^(\{.*\})\n/)
    const info = JSON.parse(match[1]) as { url: string, api: string, data_dir: string, database: string }
    assert.equal(info.data_dir, dataDir)
    assert.equal(info.database, 'sqlite')
    assert.equal((await request(`${info.api}/status`)).statusCode, 200)
    assert.ok((await stat(dbFile)).isFile())
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('runs on PostgreSQL given a postgres:// URL', { skip: PG_SKIP_REASON }, async () => {
    const db = await createPgDatabase()
    const dataDir = await tempDir('pulp-cli-serve-')
    dirs.push(dataDir)
    try {
      const { child, match } = await startServe(['--json', '--port', '0', '--data-dir', dataDir, '--database', String(db.config.connection)], {}, /^(\{.*\})\n/)
      const info = JSON.parse(match[1]) as { api: string, database: string }
      assert.equal(info.database, 'postgresql')
      const res = await request(`${info.api}/status`)
      assert.equal((await res.body.json() as { database: { dialect: string } }).database.dialect, 'postgresql')
      assert.equal(await stop(child), 0)
    } finally {
      await db.drop()
    }
  })

  it('runs the README flow: serve, repo create, distributor add, push, publish --wait, then curl gets the file', async () => {
    const dataDir = await tempDir('pulp-cli-serve-')
    dirs.push(dataDir)
    const site = path.join(dataDir, 'public')
    await mkdir(path.join(site, 'css'), { recursive: true })
    await writeFile(path.join(site, 'index.html'), '<h1>hello</h1>\n')
    await writeFile(path.join(site, 'css', 'site.css'), 'h1 { color: teal }\n')
    const { child, match } = await startServe(['--port', '0', '--data-dir', path.join(dataDir, 'pulp-data')], {}, /listening on (http:\/\/\S+\/pulp)\n/)
    try {
      const env = { PULP_URL: match[1] }
      for (const args of [['repo', 'create', 'site'], ['distributor', 'add', 'site', 'web'], ['push', 'site', site], ['publish', 'site', 'web', '--wait']]) {
        const res = await runCli(args, env)
        assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
      }
      const { stdout } = await execFileAsync('curl', ['-fsS', `${match[1]}/content/site/css/site.css`])
      assert.equal(stdout, 'h1 { color: teal }\n')
    } finally {
      assert.equal(await stop(child), 0)
    }
  })

  it('fails with one line and exit 1 when the port is taken', async () => {
    const dataDir = await tempDir('pulp-cli-serve-')
    dirs.push(dataDir)
    const first = await startServe(['--port', '0', '--data-dir', dataDir], {}, /listening on http:\/\/127\.0\.0\.1:(\d+)\/pulp/)
    try {
      const second = await runCli(['serve', '--port', first.match[1], '--data-dir', dataDir])
      assert.equal(second.code, 1)
      assert.match(second.stderr, /^pulp-middleware: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE\n$/)
    } finally {
      await stop(first.child)
    }
  })
})
