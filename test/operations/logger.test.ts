import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { pulpMiddleware } from '../../lib'
import { redactText, redactValue } from '../../lib/log/redact'
import { resolveOptions } from '../../lib/options'
import { captureLogger } from '../support/capture-logger'
import { dialects } from '../support/databases'
import { eventually } from '../support/fs-wait'
import { tempDir } from '../support/pulp'
import { API } from '../support/publish-env'
import { scriptedDistributor } from '../support/publish-distributors'
import { status } from '../support/upstream-faults'
import { startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'

const SECRETS = ['SECRET-HEADER', 'SECRET-BEARER', 'SECRET-PASS', 'SECRET-QUERY', 'SECRET-AUTH', 'SECRET-COOKIE', 'SECRET-URLQ']

function assertNoSecret (lines: string[]): void {
  for (const line of lines) for (const secret of SECRETS) assert.ok(!line.includes(secret), `${secret} leaked in ${line}`)
}

describe('redaction', () => {
  it('hides URL passwords, query values, Authorization and Cookie in text', () => {
    const text = redactText('GET https://u:SECRET-PASS@h/x?token=SECRET-QUERY&b=2 Authorization: Bearer SECRET-AUTH cookie=sid=SECRET-COOKIE')
    assertNoSecret([text])
    assert.match(text, /https:\/\/\*\*\*@h\/x\?token=\*\*\*&b=\*\*\*/)
  })

  it('hides header values and secret keys in objects, and errors keep only their message, code and cause', () => {
    const err = Object.assign(new Error('failed at http://x:SECRET-PASS@h/'), { code: 'E1', options: { headers: { 'x-key': 'SECRET-HEADER' } } })
    const out = JSON.stringify(redactValue({ err, remote: { headers: { 'x-key': 'SECRET-HEADER' } }, password: 'SECRET-PASS', cookie: 'SECRET-COOKIE' }))
    assertNoSecret([out])
    assert.match(out, /"code":"E1"/)
    assert.match(out, /"x-key":"\*\*\*"/)
  })
})

describe('logger option', () => {
  it('refuses an object without the four pino methods', () => {
    assert.throws(() => resolveOptions({ logger: { error () {}, warn () {}, info () {} } as never }), /logger\.debug/)
    assert.throws(() => resolveOptions({ logger: 'console' as never }), /"logger"/)
    assert.equal(resolveOptions({ logger: captureLogger() }).logger !== undefined, true)
  })

  it('receives a start-up failure', async () => {
    const logger = captureLogger()
    const pulp = pulpMiddleware({ dataDir: await tempDir(), logger, database: { client: 'pg', connection: 'postgres://u:SECRET-PASS@127.0.0.1:1/x' } })
    await assert.rejects(pulp.ready)
    await eventually(async () => logger.calls.some((c) => c.level === 'error' && /start-up failed/.test(c.line)), 2000, 'the start-up failure logged')
    assertNoSecret(logger.calls.map((c) => c.line))
    await pulp.close()
  })
})

for (const d of dialects()) {
  describe(`logger receives failures without credentials (${d.name})`, { skip: d.skip }, () => {
    const logger = captureLogger()
    const failing = scriptedDistributor({
      id: 'failing',
      publish: async () => { throw new Error('upload to https://deploy:SECRET-PASS@example.org/?sig=SECRET-URLQ refused') }
    })
    let f: PullThroughFixture
    let proxied: string
    before(async () => {
      f = await startPullThrough({
        dialect: d.name,
        logger,
        plugins: [{ distributors: [failing.Class] }],
        runner: { pollInterval: 0.05 },
        authorize: (req) => {
          if (req.query.boom !== undefined) throw new Error(`authorize broke on authorization: ${String(req.headers.authorization)}; cookie: ${String(req.headers.cookie)}`)
          return true
        }
      })
      f.upstream.on('/files/broken.bin', status(503))
      await f.wire('mirror', { dir: 'files/?token=SECRET-QUERY', headers: { 'x-api-key': 'SECRET-HEADER', authorization: 'Bearer SECRET-BEARER' } })
      // Remote URLs refuse credentials; a proxy URL may carry them.
      proxied = (await f.wire('proxied', { proxyUrl: 'http://proxyuser:SECRET-PASS@127.0.0.1:1/' })).remote
    })
    after(async () => { await f?.cleanup() })

    it('logs an API 500 with its cause, a remote failing, and a failed task; no secret in any call', async () => {
      const { t } = f
      const headers = { authorization: 'Bearer SECRET-AUTH', cookie: 'sid=SECRET-COOKIE' }
      const res = await fetch(`http://127.0.0.1:${f.port}${API}/status?boom=1&token=SECRET-URLQ`, { headers })
      assert.equal(res.status, 500)

      const pulled = await f.get('mirror/broken.bin', { headers })
      assert.equal(pulled.status, 502)
      assert.equal((await f.get('proxied/any.bin', { headers })).status, 502)

      await t.pulp.repositories.create({ id: 'r' })
      await t.pulp.distributors.add('r', { distributorTypeId: 'failing' })
      const task = await t.pulp.publish('r', 'failing')
      assert.equal((await t.pulp.tasks.wait(task.taskId, { timeout: 10 })).state, 'failed')

      await eventually(async () => logger.calls.some((c) => /publish task failed/.test(c.line)), 5000, 'the failed task logged')
      const errors = logger.calls.filter((c) => c.level === 'error').map((c) => c.line)
      assert.ok(errors.some((l) => /API request failed/.test(l) && /authorize broke/.test(l)), 'the 500 and its cause')
      assert.ok(errors.some((l) => /publishRepo threw/.test(l) && /example\.org/.test(l)), 'the task failure and its cause')
      assert.ok(logger.calls.some((c) => c.level === 'warn' && /is failing/.test(c.line) && /"status":503/.test(c.line)), 'the remote going down')
      assert.ok(logger.calls.some((c) => c.level === 'warn' && c.line.includes(`remote \\"${proxied}\\" is failing`)), 'the proxied remote going down')
      assertNoSecret(logger.calls.map((c) => c.line))
    })
  })
}
