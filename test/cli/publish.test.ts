import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'
import { scriptedDistributor } from '../support/publish-distributors'
import { CLI, CONTROL, listenCounted, runCli, runInTerminal, type CountedServer } from '../support/cli'

for (const d of dialects()) {
  describe(`pulp-middleware publish (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let server: CountedServer
    const failing = scriptedDistributor({
      id: 'failing',
      publish: async () => { throw new Error('the disk is on fire\nand this line stays in the task') }
    })
    const refusing = scriptedDistributor({
      id: 'refusing',
      publish: async ({ conduit }) => conduit.buildFailureReport({ why: 'refused' })
    })

    before(async () => {
      t = await startPulp({ dialect: d.name, plugins: [{ distributors: [failing.Class, refusing.Class] }] })
      server = await listenCounted(t.app)
      await t.pulp.repositories.create({ id: 'site' })
      await t.pulp.repositories.addContents('site', Array.from({ length: 30 }, (_, i) => ({ file: Buffer.from(`file ${i}`), relativePath: `f/${i}.txt` })))
      for (const type of ['web', 'failing', 'refusing']) await t.pulp.distributors.add('site', { distributorTypeId: type })
    })
    after(async () => {
      await server?.close()
      await t?.cleanup()
    })

    it('with --wait, follows a publish to its end and exits 0, printing one line', async () => {
      const res = await runCli(['publish', 'site', 'web', '--wait', '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      assert.equal(res.stderr, '')
      assert.match(res.stdout, /^task [0-9a-f-]{36} finished\n$/)
      const taskId = res.stdout.split(' ')[1]
      assert.equal((await t.pulp.tasks.get(taskId)).state, 'finished')
    })

    it('without --wait, only queues the task', async () => {
      const res = await runCli(['publish', 'site', 'web', '--json', '--url', server.url])
      assert.equal(res.code, 0, res.stderr)
      const task = JSON.parse(res.stdout) as { task_id: string, state: string }
      assert.ok(['waiting', 'running'].includes(task.state), task.state)
      await t.pulp.tasks.wait(task.task_id)
    })

    it('exits 3 with the task\'s error on one line when the publish throws', async () => {
      const res = await runCli(['publish', 'site', 'failing', '--wait', '--url', server.url])
      assert.equal(res.code, 3)
      assert.equal(res.stdout, '')
      assert.match(res.stderr, /^pulp-middleware: task [0-9a-f-]{36} failed: .*the disk is on fire\n$/)
    })

    it('exits 3 when the distributor reports failure, and --json still prints the task', async () => {
      const res = await runCli(['publish', 'site', 'refusing', '--wait', '--json', '--url', server.url])
      assert.equal(res.code, 3)
      const task = JSON.parse(res.stdout) as { state: string }
      assert.equal(task.state, 'failed')
      assert.equal(res.stderr.split('\n').length, 2)
      assert.doesNotMatch(res.stdout + res.stderr, CONTROL)
    })

    it('fails with one line for an unknown distributor', async () => {
      const res = await runCli(['publish', 'site', 'nope', '--wait', '--url', server.url])
      assert.equal(res.code, 1)
      assert.match(res.stderr, /^pulp-middleware: POST .*actions\/publish: 404 .*\n$/)
    })

    it('draws a progress bar fed by the task\'s progress report on a terminal', async () => {
      await t.pulp.repositories.addContent('site', { file: Buffer.from('one more'), relativePath: 'f/31.txt' })
      const res = await runInTerminal(`${process.execPath} ${CLI} publish site web --wait --url ${server.url}`)
      assert.equal(res.code, 0, res.stdout)
      // The web distributor reports {state, units: {done, total}}: 31 units linked.
      assert.match(res.stdout, /publish [\u2588\u2591]+ 100% \| 31\/31 \| \w+/)
      assert.match(res.stdout, /task [0-9a-f-]{36} finished/)
    })
  })
}
