import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { CLI, runCli } from '../support/cli'

/** A port nobody listens on: bound and released. */
async function closedPort (): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('pulp-middleware command line', () => {
  it('is the package bin, built with its shebang and executable', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { bin: Record<string, string> }
    assert.equal(pkg.bin['pulp-middleware'], 'dist/cli/index.js')
    assert.match(readFileSync(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/)
  })

  it('lists every command in --help and exits 0', async () => {
    const res = await runCli(['--help'])
    assert.equal(res.code, 0)
    for (const command of ['serve', 'push', 'publish', 'status', 'tasks', 'repo', 'distributor', 'remote', 'distribution']) {
      assert.match(res.stdout, new RegExp(`^  ${command} `, 'm'), command)
    }
  })

  it('has --help on every command, with --url, --token and --json on the client ones', async () => {
    for (const args of [['push'], ['publish'], ['status'], ['tasks'], ['repo', 'create'], ['repo', 'list'], ['repo', 'show'], ['repo', 'delete'], ['distributor', 'add'], ['distributor', 'list'],
      ['remote', 'create'], ['remote', 'list'], ['remote', 'show'], ['distribution', 'create'], ['distribution', 'list'], ['distribution', 'show']]) {
      const res = await runCli([...args, '--help'])
      assert.equal(res.code, 0, args.join(' '))
      for (const option of ['--url', '--token', '--json']) assert.ok(res.stdout.includes(option), `${args.join(' ')} ${option}`)
      assert.ok(res.stdout.includes('http://127.0.0.1:8080/pulp'), 'the default --url')
    }
    const serve = await runCli(['serve', '--help'])
    assert.equal(serve.code, 0)
    for (const text of ['--port', '--host', '--data-dir', '--database', 'PULP_PORT', 'PULP_HOST', 'PULP_DATA_DIR', 'PULP_DATABASE_URL']) assert.ok(serve.stdout.includes(text), text)
  })

  it('refuses an unknown option with one line on stderr and exit code 2', async () => {
    const res = await runCli(['push', 'repo', '.', '--no-such-flag'])
    assert.equal(res.code, 2)
    assert.equal(res.stdout, '')
    assert.match(res.stderr, /unknown option '--no-such-flag'/)
    assert.equal(res.stderr.trim().split('\n').length, 1)
  })

  it('answers a closed port with one line on stderr, no stack trace, and a non-zero exit', async () => {
    const port = await closedPort()
    for (const args of [['status'], ['repo', 'list', '--json'], ['push', 'r', __dirname], ['publish', 'r', 'd', '--wait']]) {
      const res = await runCli([...args, '--url', `http://127.0.0.1:${port}/pulp`])
      assert.equal(res.code, 1, args.join(' '))
      assert.equal(res.stdout, '')
      assert.equal(res.stderr.split('\n').length, 2, res.stderr)
      assert.match(res.stderr, new RegExp(`^pulp-middleware: .*127\\.0\\.0\\.1:${port}.*connection refused`))
      assert.doesNotMatch(res.stderr, /\n\s+at /)
    }
  })

  it('says which --url is wrong', async () => {
    const res = await runCli(['status', '--url', 'not a url'])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /^pulp-middleware: --url "not a url" is not a URL/)
  })
})
