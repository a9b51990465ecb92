/**
 * What validating one request costs on the two routes that carry the most traffic, publish and
 * upload, with zod 4 (the schema library the API uses) against TypeBox 0.34 (compiled) and the
 * hand-written checks the API had before; and the message each gives for the same bad body.
 *
 *   npm install --no-save @sinclair/typebox@0.34   # the peer; skipped when absent
 *   npx tsx bench/schema-choice.ts [--rounds 5]
 *
 * The three run in turns, several rounds, in one process; the line printed is each one's median.
 */
import { performance } from 'node:perf_hooks'
import { z } from 'zod'
import { validateId, onlyFields, requireObject, validateRelativePath } from '../lib/core/validate'
import { ValidationError } from '../lib/errors'

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

// zod 4.
const zId = z.string().min(1).max(255).regex(ID).refine((v) => v !== '.' && v !== '..')
const zPublish = z.object({
  params: z.object({ id: zId }),
  query: z.object({ wait: z.string().regex(/^\d+(\.\d+)?$/).refine((v) => Number(v) <= 60).optional() }),
  body: z.strictObject({ id: zId, override_config: z.record(z.string(), z.unknown()).nullable().optional() })
})
const zPath = z.string().superRefine((v, ctx) => {
  try { validateRelativePath(v) } catch (err: unknown) { ctx.addIssue({ code: 'custom', message: (err as Error).message }) }
})
const zUpload = z.object({ params: z.object({ id: zId }), paths: z.array(zPath) })

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
interface TypeBoxCompiler { TypeCompiler: { Compile: (s: object) => { Check: (v: unknown) => boolean, Errors: (v: unknown) => Iterable<{ path: string, message: string }> } } }

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
    body: Type.Object({ id: tId, override_config: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])) }, { additionalProperties: false })
  }))
  const upload = compiler.TypeCompiler.Compile(Type.Object({ params: Type.Object({ id: tId }), paths: Type.Array(Type.String({ minLength: 1, maxLength: 1024 })) }))
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

async function main (): Promise<void> {
  const tb = await typebox()
  const runs: Record<string, { publish: number[], upload: number[] }> = { hand: { publish: [], upload: [] }, zod: { publish: [], upload: [] }, typebox: { publish: [], upload: [] } }
  for (let round = 0; round < ROUNDS; round++) {
    runs.hand.publish.push(time(() => handPublish(publishRequest)))
    runs.zod.publish.push(time(() => { zPublish.parse(publishRequest) }))
    if (tb !== undefined) runs.typebox.publish.push(time(tb.publish))
    runs.hand.upload.push(time(() => handUpload(uploadRequest)))
    runs.zod.upload.push(time(() => { zUpload.parse(uploadRequest) }))
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
  const zodIssue = zPublish.safeParse({ ...publishRequest, body: badPublish }).error?.issues[0]
  console.log('\nthe first message for the body', JSON.stringify(badPublish))
  console.log(`zod      ${zodIssue?.path.join('.')}: ${zodIssue?.message}`)
  if (tb !== undefined) console.log(`typebox  ${tb.message}`)
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
