import { after, before, beforeEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Ajv, { type ValidateFunction } from 'ajv'
import request from 'supertest'
import type { z } from 'zod'
import type { Binding, Consumer, Distribution, PublishHistoryEntry, RepoDistributor, Repository, RepositoryUnit, Task } from '../../lib'
import type { EvictionResult } from '../../lib/storage/cache-quota'
import type * as schemas from '../../lib/schemas/status'
import type { Repository as RepositorySchema } from '../../lib/schemas/repositories'
import type { Unit } from '../../lib/schemas/content'
import type { Distributor, PublishHistoryEntry as HistorySchema } from '../../lib/schemas/distributors'
import type { Task as TaskSchema } from '../../lib/schemas/tasks'
import type { Binding as BindingSchema, Consumer as ConsumerSchema } from '../../lib/schemas/consumers'
import type { Distribution as DistributionSchema, Reclaimed } from '../../lib/schemas/distributions'
import type { Status } from '../../lib/services'
import { dialects } from '../support/databases'
import { startPulp, type TestPulp } from '../support/pulp'

/**
 * The records the services return are the shapes the document describes: a field added to one
 * and not the other fails to compile (the answers below check the same at run time).
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const SAME_SHAPES: Array<true> = [
  true satisfies Same<Repository, z.output<typeof RepositorySchema>>,
  true satisfies Same<Omit<RepositoryUnit, 'repositoryId'>, z.output<typeof Unit>>,
  true satisfies Same<RepoDistributor, z.output<typeof Distributor>>,
  true satisfies Same<Task, z.output<typeof TaskSchema>>,
  true satisfies Same<PublishHistoryEntry, z.output<typeof HistorySchema>>,
  true satisfies Same<Consumer, z.output<typeof ConsumerSchema>>,
  true satisfies Same<Binding & { details: unknown }, z.output<typeof BindingSchema>>,
  true satisfies Same<Distribution, z.output<typeof DistributionSchema>>,
  true satisfies Same<EvictionResult, z.output<typeof Reclaimed>>,
  true satisfies Same<Status, z.output<typeof schemas.Status>>
]

const API = '/pulp/api/v1'

interface Operation {
  parameters?: Array<{ name: string, in: string }>
  requestBody?: { content: Record<string, unknown> }
  responses: Record<string, { content?: Record<string, { schema: object }> }>
}
type Doc = {
  paths: Record<string, Record<string, Operation>>
}

/** Checks answers against the document: the status is one it lists, the body matches its schema. */
class Conformance {
  readonly #doc: Doc
  readonly #ajv: Ajv
  readonly #compiled = new Map<string, ValidateFunction>()

  constructor (doc: Doc) {
    this.#doc = doc
    // OpenAPI 3.0 schemas: `nullable` is Ajv's own keyword; the document's other keys are not schema keywords.
    this.#ajv = new Ajv({ strict: false, allErrors: true, formats: { binary: true } })
    this.#ajv.addSchema(doc, 'openapi.json')
  }

  check (method: string, template: string, res: { status: number, body: unknown, headers: Record<string, string> }, what: string): void {
    const op = this.#doc.paths[template]?.[method]
    assert.ok(op !== undefined, `${method.toUpperCase()} ${template} is in the document`)
    const answer = op.responses[String(res.status)]
    assert.ok(answer !== undefined, `${what}: ${method.toUpperCase()} ${template} answered ${res.status} (${JSON.stringify(res.body)}), which the document does not list (it lists ${Object.keys(op.responses).join(', ')})`)
    if (answer.content === undefined) {
      assert.deepEqual(res.body, {}, `${what}: a ${res.status} has no body`)
      return
    }
    const [type, { schema }] = Object.entries(answer.content)[0]
    if (!type.startsWith('application/json')) {
      assert.ok(res.headers['content-type']?.startsWith(type.split(';')[0]), `${what}: answered ${res.headers['content-type']}, the document says ${type}`)
      return
    }
    const key = JSON.stringify(schema)
    let validate = this.#compiled.get(key)
    if (validate === undefined) {
      const ref = (schema as { $ref?: string }).$ref
      validate = this.#ajv.compile(ref === undefined ? schema : { $ref: `openapi.json${ref}` })
      this.#compiled.set(key, validate)
    }
    assert.ok(validate(res.body), `${what}: the ${res.status} body of ${method.toUpperCase()} ${template} does not match its schema: ${this.#ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`)
  }
}

/** Express path params of a document path: `/a/{id}` with `{ id: 'x' }` -> `/a/x`. */
function fill (template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => encodeURIComponent(values[name] ?? `missing-${name}`))
}

for (const d of dialects()) {
  describe(`the OpenAPI document against the API (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    let doc: Doc
    let conformance: Conformance
    /** Path parameter values naming things that exist. */
    const existing: Record<string, string> = { id: 'repo', did: 'web', repoId: 'repo', distributorId: 'web', name: 'up' }

    type Res = { status: number, body: unknown, headers: Record<string, string> }
    const send = async (
      method: string, template: string, values: Record<string, string>, build: (r: request.Test) => request.Test = (r) => r
    ): Promise<Res> => {
      const agent = request(t.app) as unknown as Record<string, (url: string) => request.Test>
      return await build(agent[method](`${API}${fill(template, values)}`))
    }
    const call = async (method: string, template: string, values: Record<string, string>, body?: object | string, query = ''): Promise<Res> => {
      const res = await send(method, template + query, values, (r) => body === undefined ? r : r.send(body))
      conformance.check(method, template, res, `${method.toUpperCase()} ${template}${query}`)
      return res
    }

    before(async () => {
      t = await startPulp({ dialect: d.name, runner: false })
      doc = (await request(t.app).get(`${API}/openapi.json`).expect(200)).body
      conformance = new Conformance(doc)
    })
    after(async () => { await t?.cleanup() })

    it('is a valid OpenAPI 3 document', async () => {
      assert.equal(SAME_SHAPES.length, 10)
      const { Validator } = await import('@seriousme/openapi-schema-validator')
      const validator = new Validator()
      const result = await validator.validate(doc as unknown as Parameters<typeof validator.validate>[0])
      assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
    })

    it('describes what each route answers when it succeeds', async () => {
      const ok = (res: Res, status: number): void => assert.equal(res.status, status, JSON.stringify(res.body))
      ok(await call('get', '/status', {}), 200)
      ok(await call('get', '/openapi.json', {}), 200)
      ok(await call('post', '/repositories', {}, { id: 'repo', display_name: 'Repo', notes: { a: 1 } }), 201)
      ok(await call('patch', '/repositories/{id}', existing, { description: 'd' }), 200)
      ok(await call('get', '/repositories', {}), 200)
      ok(await call('get', '/repositories/{id}', existing), 200)
      const upload = await send('post', '/repositories/{id}/content', existing, (r) => r.field('relative_path', 'a/b.txt').attach('file', Buffer.from('hello'), 'b.txt'))
      conformance.check('post', '/repositories/{id}/content', upload, 'an upload')
      ok(upload, 201)
      ok(await send('post', '/repositories/{id}/content', existing, (r) => r.attach('file', Buffer.from('second'), 'c.txt')), 201)
      existing.unitId = (upload.body as { units: Array<{ id: string }> }).units[0].id
      ok(await call('get', '/repositories/{id}/content', existing), 200)
      ok(await call('get', '/repositories/{id}/content', existing, undefined, '?relative_path=a/b.txt'), 200)
      ok(await call('post', '/repositories/{id}/distributors', existing, { distributor_type_id: 'web', auto_publish: false }), 201)
      ok(await call('put', '/repositories/{id}/distributors/{did}', existing, { distributor_config: { http: true } }), 200)
      ok(await call('get', '/repositories/{id}/distributors', existing), 200)
      ok(await call('get', '/repositories/{id}/distributors/{did}', existing), 200)
      const published = await call('post', '/repositories/{id}/actions/publish', existing, { id: 'web', override_config: { force_full: true } })
      ok(published, 202)
      existing.taskId = (published.body as { task_id: string }).task_id
      ok(await call('get', '/tasks', {}, undefined, '?state=waiting,running&repo_id=repo'), 200)
      ok(await call('get', '/tasks/{taskId}', existing), 200)
      ok(await call('get', '/repositories/{id}/history/publish/{did}', existing), 200)
      ok(await call('post', '/consumers', {}, { id: 'cons', notes: {} }), 201)
      ok(await call('get', '/consumers', {}), 200)
      ok(await call('get', '/consumers/{id}', { id: 'cons' }), 200)
      ok(await call('post', '/consumers/{id}/bindings', { id: 'cons' }, { repo_id: 'repo', distributor_id: 'web' }), 201)
      ok(await call('get', '/consumers/{id}/bindings', { id: 'cons' }), 200)
      ok(await call('post', '/remotes', {}, { name: 'up', url: 'http://127.0.0.1:9/files/', headers: { authorization: 'Bearer x' }, metadata_patterns: ['x/*'] }), 201)
      ok(await call('patch', '/remotes/{name}', existing, { total_timeout: 5 }), 200)
      ok(await call('get', '/remotes', {}), 200)
      ok(await call('get', '/remotes/{name}', existing), 200)
      ok(await call('post', '/distributions', {}, { name: 'dist', base_path: 'dist', remote: 'up', repository: 'repo', cache_max_bytes: 1024 }), 201)
      ok(await call('patch', '/distributions/{name}', { name: 'dist' }, { cache_max_bytes: null }), 200)
      ok(await call('get', '/distributions', {}), 200)
      ok(await call('get', '/distributions/{name}', { name: 'dist' }), 200)
      ok(await call('post', '/distributions/{name}/reclaim', { name: 'dist' }), 200)
      ok(await call('post', '/orphans/cleanup', {}, { orphan_protection_time: 0 }), 202)
      ok(await call('delete', '/tasks/{taskId}', existing), 202)
      ok(await call('delete', '/repositories/{id}/content', existing, undefined, '?relative_path=c.txt'), 204)
      ok(await call('delete', '/repositories/{id}/content/{unitId}', existing), 204)
      ok(await call('delete', '/consumers/{id}/bindings/{repoId}/{distributorId}', { id: 'cons', repoId: 'repo', distributorId: 'web' }), 204)
      ok(await call('delete', '/consumers/{id}', { id: 'cons' }), 204)
      ok(await call('delete', '/distributions/{name}', { name: 'dist' }), 204)
      ok(await call('delete', '/remotes/{name}', existing), 204)
      ok(await call('delete', '/repositories/{id}/distributors/{did}', existing), 204)
      ok(await call('delete', '/repositories/{id}', existing), 204)
    })

    describe('answers bad input only with statuses the document lists, bodies matching its schemas', () => {
      // Deletes last, so the other routes are probed with things that exist.
      const routes = (): Array<[string, string]> => Object.entries(doc.paths)
        .flatMap(([p, ops]) => Object.keys(ops).map((m): [string, string] => [m, p]))
        .sort(([a], [b]) => Number(a === 'delete') - Number(b === 'delete'))

      /** Things of their own, so these probes do not depend on the test above. */
      const existing: Record<string, string> = { id: 'probe', did: 'web', repoId: 'probe', distributorId: 'web', name: 'probe', unitId: 'no-such-unit', taskId: 'no-such-task' }
      // Each probe ends with the deletes: the things are made again (201) or are still there (409).
      beforeEach(async () => {
        const made = [
          await request(t.app).post(`${API}/repositories`).send({ id: 'probe' }),
          await request(t.app).post(`${API}/repositories/probe/distributors`).send({ distributor_type_id: 'web' }),
          await request(t.app).post(`${API}/remotes`).send({ name: 'probe', url: 'http://127.0.0.1:9/' }),
          await request(t.app).post(`${API}/consumers`).send({ id: 'probe' }),
          await request(t.app).post(`${API}/distributions`).send({ name: 'probe', base_path: 'probe' })
        ]
        for (const res of made) assert.ok([201, 409].includes(res.status), JSON.stringify(res.body))
      })

      it('a malformed JSON body, one that is no object, and one that is not JSON', async () => {
        let refused = 0
        for (const [method, template] of routes()) {
          for (const [type, body] of [['application/json', '{"malformed'], ['application/json', '[1, 2]'], ['text/plain', 'plain words']]) {
            const res = await send(method, template, existing, (r) => r.set('Content-Type', type).send(body))
            conformance.check(method, template, res, `${method.toUpperCase()} ${template} with the body ${body} as ${type}`)
            if (doc.paths[template][method].requestBody !== undefined) {
              assert.ok([400, 415].includes(res.status), `${method.toUpperCase()} ${template} took the body ${body} as ${type}: ${res.status}`)
              refused++
            }
          }
        }
        assert.ok(refused >= 3 * 12, `every route with a body refused it (${refused})`)
      })

      it('a bad path parameter', async () => {
        let probed = 0
        for (const [method, template] of routes()) {
          const params = (doc.paths[template][method].parameters ?? []).filter((p) => p.in === 'path')
          for (const param of params) {
            for (const bad of ['a b', '..', 'x'.repeat(300)]) {
              const res = await send(method, template, { ...existing, [param.name]: bad }, (r) => r.send({}))
              conformance.check(method, template, res, `${method.toUpperCase()} ${template} with ${param.name}=${bad.slice(0, 10)}`)
              assert.ok(res.status >= 400 && res.status < 500, `${method.toUpperCase()} ${template} with ${param.name}=${bad.slice(0, 10)}: ${res.status}`)
              probed++
            }
          }
        }
        assert.ok(probed > 30, `path parameters probed (${probed})`)
      })

      it('a bad query', async () => {
        let refused = 0
        for (const [method, template] of routes()) {
          const names = (doc.paths[template][method].parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)
          for (const name of names) {
            const bad = { limit: '1001', offset: '-1', wait: 'soon', relative_path: '/etc/passwd', state: 'sleeping', repo_id: '', distributor_id: '' }[name] ?? 'x'
            const res = await send(method, `${template}?${name}=${encodeURIComponent(bad)}`, existing, (r) => method === 'get' || method === 'delete' ? r : r.send(method === 'post' && template.endsWith('/publish') ? { id: 'web' } : {}))
            conformance.check(method, template, res, `${method.toUpperCase()} ${template}?${name}=${bad}`)
            if (res.status === 400) refused++
          }
        }
        assert.ok(refused >= 10, `bad queries refused with 400 (${refused})`)
      })

      it('a body sent to the upload route as JSON, and an upload without a file', async () => {
        const template = '/repositories/{id}/content'
        const json = await send('post', template, existing, (r) => r.send({ file: 'x' }))
        conformance.check('post', template, json, 'a JSON upload')
        assert.equal(json.status, 415)
        const empty = await send('post', template, existing, (r) => r.field('relative_path', 'x'))
        conformance.check('post', template, empty, 'an upload without a file')
        assert.equal(empty.status, 400)
      })
    })
  })
}
