/**
 * What validating one request costs on the two routes that carry the most traffic, publish and
 * upload: the hand-written checks the API had before, zod 4 as the API now runs it (lib/schemas),
 * and TypeBox 0.34 compiled; and the message each gives for the same bad body.
 *
 *   npm install --no-save @sinclair/typebox@0.34   # the peer; skipped when absent
 *   npx tsx bench/schema-choice.ts [--rounds 5]
 *
 * For scale it also times the whole request, over HTTP to an instance on SQLite (no runner).
 * The three run in turns, several rounds, in one process; the line printed is each one's median.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import express from 'express'
import { FormData, request } from 'undici'
import { pulpMiddleware } from '../lib'
import { bodyOf } from '../lib/api/wire'
import { validateId, onlyFields, requireObject, validateRelativePath } from '../lib/core/validate'
import { ValidationError } from '../lib/errors'
import { PublishRequest, PublishWait } from '../lib/schemas/distributors'
import { checkField } from '../lib/schemas/parse'

const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5
const N = 50_000

const publishRequest = { params: { id: 'repo-1' }, query: { wait: '10' }, body: { id: 'web', override_config: { force_full: true } } }
const uploadRequest = { params: { id: 'repo-1' }, paths: Array.from({ length: 20 }, (_, i) => `pool/main/p/pkg-${i}/pkg-${i}_1.0_amd64.deb`) }
const badPublish = { id: 'a b', override_config: 'x', colour: 1 }

const ID = /^[A-Za-z0-9_.-]+$/

// Today's hand-written checks, as the routes ran them.
function handPublish (r: typeof publishRequest): void {
  validateId(r.params.id)
  if (!/^\d+(\.\d+)?$/.test(r.query.wait) || Number(r.query.wait) > 60) throw new ValidationError('wait')
  const body = requireObject(r.body, 'a publish request')
  onlyFields(body, ['id', 'override_config'], 'a publish request')
  validateId(body.id)
  if (typeof body.override_config !== 'object') throw new ValidationError('override_config')
}
function handUpload (r: typeof uploadRequest): void {
  validateId(r.params.id)
  for (const p of r.paths) validateRelativePath(p)
}

// zod 4, as the API runs it now: the route parses the body and the query with the schemas, the
// services check the ids and the override again (they serve code callers too).
function zodPublish (r: typeof publishRequest): void {
  validateId(r.params.id)
  Number(checkField(PublishWait, r.query.wait, 'wait'))
  const body = bodyOf(PublishRequest, r.body, 'a publish request')
  validateId(body.id)
  checkField(PublishRequest.shape.overrideConfig, body.overrideConfig, 'override_config')
}
// The parts are checked by the upload engine as before; the repository id by its schema.
function zodUpload (r: typeof uploadRequest): void {
  validateId(r.params.id)
  for (const p of r.paths) validateRelativePath(p)
}

function time (fn: () => void): number {
  const start = performance.now()
  for (let i = 0; i < N; i++) fn()
  return (performance.now() - start) * 1000 / N
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** The part of TypeBox 0.34 used here; it is no dependency, so it is loaded by a name tsc does not follow. */
interface TypeBoxType {
  String: (o?: object) => object
  Object: (p: Record<string, object>, o?: object) => object
  Optional: (s: object) => object
  Union: (s: object[]) => object
  Record: (k: object, v: object) => object
  Array: (s: object) => object
  Null: () => object
  Unknown: () => object
}
interface TypeBoxCheck { Check: (v: unknown) => boolean, Errors: (v: unknown) => Iterable<{ path: string, message: string }> }
interface TypeBoxCompiler { TypeCompiler: { Compile: (s: object) => TypeBoxCheck } }

async function typebox (): Promise<{ publish: () => void, upload: () => void, message: string } | undefined> {
  const name = '@sinclair/typebox'
  let Type: TypeBoxType
  let compiler: TypeBoxCompiler
  try {
    Type = ((await import(name)) as { Type: TypeBoxType }).Type
    compiler = (await import(`${name}/compiler`)) as TypeBoxCompiler
  } catch {
    return undefined
  }
  const tId = Type.String({ minLength: 1, maxLength: 255, pattern: ID.source })
  const publish = compiler.TypeCompiler.Compile(Type.Object({
    params: Type.Object({ id: tId }),
    query: Type.Object({ wait: Type.Optional(Type.String({ pattern: '^\\d+(\\.\\d+)?$' })) }),
    body: Type.Object({
      id: tId,
      override_config: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]))
    }, { additionalProperties: false })
  }))
  const upload = compiler.TypeCompiler.Compile(Type.Object({
    params: Type.Object({ id: tId }),
    paths: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }))
  }))
  const first = [...publish.Errors({ ...publishRequest, body: badPublish })][0]
  return {
    // The parts a schema cannot say ("." and "..", wait <= 60, segments) still need code.
    publish: () => {
      if (!publish.Check(publishRequest) || publishRequest.params.id === '.' || Number(publishRequest.query.wait) > 60) throw new Error('bad')
    },
    upload: () => {
      if (!upload.Check(uploadRequest)) throw new Error('bad')
      for (const p of uploadRequest.paths) validateRelativePath(p)
    },
    message: `${first.path}: ${first.message}`
  }
}

/** Microseconds per whole publish request and per 20-part upload, served for real. */
async function wholeRequests (count: number): Promise<{ publish: number, upload: number }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pulp-schema-bench-'))
  const pulp = pulpMiddleware({ dataDir, runner: false })
  const server = express().use('/pulp', pulp).listen(0, '127.0.0.1')
  try {
    await pulp.ready
    await pulp.repositories.create({ id: 'repo-1' })
    await pulp.distributors.add('repo-1', { distributorTypeId: 'web' })
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pulp/api/v1/repositories/repo-1`
    const body = JSON.stringify({ id: 'web', override_config: { force_full: true } })
    let start = performance.now()
    for (let i = 0; i < count; i++) {
      const res = await request(`${base}/actions/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      await res.body.dump()
      if (res.statusCode !== 202) throw new Error(`publish answered ${res.statusCode}`)
    }
    const publish = (performance.now() - start) * 1000 / count
    start = performance.now()
    for (let i = 0; i < count; i++) {
      const form = new FormData()
      for (const p of uploadRequest.paths) {
        form.append('relative_path', p)
        form.append('file', new Blob([`${p} ${i}`]), 'f')
      }
      const res = await request(`${base}/content`, { method: 'POST', body: form })
      await res.body.dump()
      if (res.statusCode !== 201) throw new Error(`upload answered ${res.statusCode}`)
    }
    return { publish, upload: (performance.now() - start) * 1000 / count }
  } finally {
    await new Promise((resolve) => server.close(resolve))
    await pulp.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const tb = await typebox()
  const runs: Record<string, { publish: number[], upload: number[] }> = {
    hand: { publish: [], upload: [] }, zod: { publish: [], upload: [] }, typebox: { publish: [], upload: [] }
  }
  for (let round = 0; round < ROUNDS; round++) {
    runs.hand.publish.push(time(() => handPublish(publishRequest)))
    runs.zod.publish.push(time(() => zodPublish(publishRequest)))
    if (tb !== undefined) runs.typebox.publish.push(time(tb.publish))
    runs.hand.upload.push(time(() => handUpload(uploadRequest)))
    runs.zod.upload.push(time(() => zodUpload(uploadRequest)))
    if (tb !== undefined) runs.typebox.upload.push(time(tb.upload))
  }
  console.log(`validation per request, median of ${ROUNDS} rounds of ${N} (µs; ratio to the hand-written checks)`)
  for (const [name, r] of Object.entries(runs)) {
    if (r.publish.length === 0) {
      console.log(`${name.padEnd(8)} not installed (npm install --no-save @sinclair/typebox@0.34)`)
      continue
    }
    const p = median(r.publish)
    const u = median(r.upload)
    console.log(`${name.padEnd(8)} publish ${p.toFixed(2).padStart(6)} µs (x${(p / median(runs.hand.publish)).toFixed(2)})   upload, 20 parts ${u.toFixed(2).padStart(6)} µs (x${(u / median(runs.hand.upload)).toFixed(2)})`)
  }
  const whole = await wholeRequests(200)
  console.log(`whole request, for scale: publish ${whole.publish.toFixed(0)} µs, upload of 20 parts ${whole.upload.toFixed(0)} µs`)
  console.log('\nthe message for the body', JSON.stringify(badPublish))
  try {
    bodyOf(PublishRequest, { id: 'a b', override_config: 'x' }, 'a publish request')
  } catch (err: unknown) {
    console.log(`zod      ${(err as Error).message}`)
  }
  try {
    bodyOf(PublishRequest, badPublish, 'a publish request')
  } catch (err: unknown) {
    console.log(`zod      ${(err as Error).message}`)
  }
  if (tb !== undefined) console.log(`typebox  ${tb.message}`)
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
