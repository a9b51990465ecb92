import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as errors from '../lib/errors'
import { resolveOptions } from '../lib/options'
import { ERROR_CODES, InvalidOptionError, pulpMiddleware, TaskTimeoutError } from '../lib'
import { startPulp } from './support/pulp'
import { scriptedDistributor } from './support/publish-distributors'

describe('error codes', () => {
  it('gives every error class of the errors module a code listed in ERROR_CODES', () => {
    const listed = new Set<string>(Object.values(ERROR_CODES))
    type ErrorClass = new (message: string) => Error & { code: string }
    const classes = (Object.values(errors) as unknown[]).filter((v): v is ErrorClass =>
      typeof v === 'function' && (v.prototype instanceof Error))
    assert.ok(classes.length >= 20, `found ${classes.length} error classes`)
    for (const Class of classes) {
      const err = new Class('m')
      assert.ok(listed.has(err.code), `${Class.name} has code ${String(err.code)}, not in ERROR_CODES`)
    }
    assert.equal(new Set(Object.values(ERROR_CODES)).size, Object.values(ERROR_CODES).length, 'no code listed twice')
  })

  it('throws option errors as TypeErrors with the code ERR_PULP_INVALID_OPTION and the same message', () => {
    for (const bad of [{ maxUploadSize: -1 }, { nope: 1 }, 'options']) {
      assert.throws(() => resolveOptions(bad as never), (err: unknown) => {
        assert.ok(err instanceof TypeError)
        assert.ok(err instanceof InvalidOptionError)
        assert.equal((err as InvalidOptionError).code, 'ERR_PULP_INVALID_OPTION')
        assert.match(err.message, /^pulpMiddleware: (option "(maxUploadSize|nope)" |options must be an object)/)
        return true
      })
    }
    assert.throws(() => pulpMiddleware({ apiPath: 'api' }), {
      name: 'InvalidOptionError', code: 'ERR_PULP_INVALID_OPTION', message: 'pulpMiddleware: option "apiPath" must be a path starting with "/"'
    })
  })

  it('rejects tasks.wait() past its timeout with a TaskTimeoutError', async () => {
    const quiet = scriptedDistributor({ id: 'quiet' })
    const t = await startPulp({ runner: false, plugins: [{ distributors: [quiet.Class] }] })
    try {
      await t.pulp.repositories.create({ id: 'r' })
      await t.pulp.distributors.add('r', { distributorTypeId: 'quiet' })
      const task = await t.pulp.publish('r', 'quiet')
      await assert.rejects(t.pulp.tasks.wait(task.taskId, { timeout: 0 }), (err: unknown) => {
        assert.ok(err instanceof TaskTimeoutError)
        assert.equal(err.code, 'ERR_PULP_TIMEOUT')
        assert.match(err.message, /is still waiting after 0 s/)
        return true
      })
    } finally {
      await t.cleanup()
    }
  })
})
