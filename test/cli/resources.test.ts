import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { startPulp, type TestPulp } from '../support/pulp'
import { CONTROL, listenCounted, runCli, type CountedServer } from '../support/cli'

describe('pulp-middleware status, tasks, repo, remote, distribution', () => {
  let t: TestPulp
  let server: CountedServer
  // Only this token may use the API, so every command below proves it sends --token as Bearer.
  const auth = ['--token', 's3cret']
  const cli = async (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> =>
    await runCli([...args, '--url', server.url, ...auth])
  // Each command prints its own JSON shape; each assertion reads the fields it checks.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = async (...args: string[]): Promise<any> => {
    const res = await cli(...args, '--json')
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
    return JSON.parse(res.stdout)
  }

  before(async () => {
    t = await startPulp({ authorize: (req) => req.headers.authorization === 'Bearer s3cret' })
    server = await listenCounted(t.app)
  })
  after(async () => {
    await server?.close()
    await t?.cleanup()
  })

  it('sends --token (or PULP_TOKEN) as a Bearer token, and reports a refusal on one line', async () => {
    const refused = await runCli(['status', '--url', server.url])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^pulp-middleware: GET .*\/status: 40[13] .*\n$/)
    const fromEnv = await runCli(['status', '--json'], { PULP_TOKEN: 's3cret', PULP_URL: server.url })
    assert.equal(fromEnv.code, 0, fromEnv.stderr)
    assert.equal(JSON.parse(fromEnv.stdout).runner.state, 'running')
  })

  it('creates, lists, shows and deletes repositories', async () => {
    assert.equal((await json('repo', 'create', 'firmware', '--display-name', 'Firmware images')).display_name, 'Firmware images')
    const human = await cli('repo', 'show', 'firmware')
    assert.match(human.stdout, /^id +firmware$/m)
    assert.match(human.stdout, /^display_name +Firmware images$/m)
    assert.doesNotMatch(human.stdout, CONTROL)
    const list = await cli('repo', 'list')
    assert.match(list.stdout, /^ID +TOTAL_REPOSITORY_UNITS +DISPLAY_NAME +UPDATED\nfirmware +0 +Firmware images +\d{4}-/)
    assert.match(list.stdout, /\(1 of 1\)\n$/)
    assert.deepEqual((await json('repo', 'list')).results.map((r: { id: string }) => r.id), ['firmware'])
    const duplicate = await cli('repo', 'create', 'firmware')
    assert.equal(duplicate.code, 1)
    assert.match(duplicate.stderr, /^pulp-middleware: POST .*: 409 repository "firmware" already exists\n$/)
    assert.deepEqual(await json('repo', 'delete', 'firmware'), { deleted: 'firmware' })
    assert.equal((await cli('repo', 'show', 'firmware')).code, 1)
  })

  it('creates, lists and shows remotes and distributions', async () => {
    const remote = await json('remote', 'create', 'upstream', 'http://127.0.0.1:9/files/', '--policy', 'streamed')
    assert.equal(remote.policy, 'streamed')
    assert.equal(remote.remote_type_id, 'file')
    assert.equal((await json('remote', 'show', 'upstream')).url, 'http://127.0.0.1:9/files/')
    assert.equal((await json('remote', 'list')).count, 1)
    const dist = await json('distribution', 'create', 'mirror', 'mirror/files', '--remote', 'upstream', '--cache-max-bytes', '1000000')
    assert.deepEqual([dist.base_path, dist.remote, dist.cache_max_bytes], ['mirror/files', 'upstream', 1000000])
    assert.equal((await json('distribution', 'show', 'mirror')).base_path, 'mirror/files')
    assert.match((await cli('distribution', 'list')).stdout, /^mirror +mirror\/files +- +upstream +1000000$/m)
    const bad = await cli('distribution', 'create', 'other', 'other/files', '--remote', 'upstream', '--cache-max-bytes', '1GB')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /"cache_max_bytes" must be a whole number of bytes >= 0/)
  })

  it('adds and lists distributors', async () => {
    await t.pulp.repositories.create({ id: 'site' })
    const added = await json('distributor', 'add', 'site', 'web', '--config', '{"relative_url":"www"}', '--auto-publish')
    assert.deepEqual([added.id, added.config, added.auto_publish], ['web', { relative_url: 'www' }, true])
    assert.match((await cli('distributor', 'list', 'site')).stdout, /^web +web +true +-$/m)
    const bad = await cli('distributor', 'add', 'site', 'web', '--config', '{nope')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^pulp-middleware: --config is not JSON/)
  })

  it('lists tasks, filtered by state', async () => {
    const task = await t.pulp.publish('site', 'web')
    await t.pulp.tasks.wait(task.taskId)
    const finished = await json('tasks', '--state', 'finished')
    assert.deepEqual(finished.results.map((r: { task_id: string }) => r.task_id), [task.taskId])
    assert.equal((await json('tasks', '--state', 'failed')).count, 0)
    assert.match((await cli('tasks')).stdout, new RegExp(`^${task.taskId} +finished +site +web `, 'm'))
  })
})
