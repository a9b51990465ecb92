/**
 * The OpenAPI 3 description of the REST API, generated from the schemas that validate the
 * requests (lib/schemas/). Each route the API mounts has an entry in OPERATIONS; a test walks
 * the mounted router and fails for a route without one (and for an entry without a route), and
 * another sends every route bad input and checks the answer is one its entry lists.
 */
import { z } from 'zod'
import { schemaDocs } from '../schemas/docs'
import { id } from '../schemas/fields'
import { snakeCase } from '../schemas/naming'
import { PageQuery } from '../schemas/page'
import { ErrorBody, Status } from '../schemas/status'
import * as repositories from '../schemas/repositories'
import * as content from '../schemas/content'
import * as distributors from '../schemas/distributors'
import * as tasks from '../schemas/tasks'
import * as consumers from '../schemas/consumers'
import * as remotes from '../schemas/remotes'
import * as distributions from '../schemas/distributions'

type Schema = Record<string, unknown>

/** Each schema of the document under its component name; `input` ones describe request bodies. */
const COMPONENTS = {
  Error: { schema: ErrorBody },
  Status: { schema: Status },
  RepositoryInput: { schema: repositories.CreateRepositoryInput, input: true },
  RepositoryUpdate: { schema: repositories.UpdateRepositoryInput, input: true },
  Repository: { schema: repositories.Repository },
  RepositoryPage: { schema: repositories.RepositoryPage },
  Unit: { schema: content.Unit },
  UnitPage: { schema: content.UnitPage },
  Upload: { schema: content.Upload, input: true },
  UploadResult: { schema: content.UploadResult },
  DistributorInput: { schema: distributors.AddDistributorInput, input: true },
  DistributorUpdate: { schema: distributors.UpdateDistributorInput, input: true },
  Distributor: { schema: distributors.Distributor },
  DistributorPage: { schema: distributors.DistributorPage },
  PublishRequest: { schema: distributors.PublishRequest, input: true },
  Task: { schema: tasks.Task },
  TaskPage: { schema: tasks.TaskPage },
  PublishHistoryEntry: { schema: distributors.PublishHistoryEntry },
  PublishHistoryPage: { schema: distributors.PublishHistoryPage },
  ConsumerInput: { schema: consumers.CreateConsumerInput, input: true },
  Consumer: { schema: consumers.Consumer },
  ConsumerPage: { schema: consumers.ConsumerPage },
  BindingInput: { schema: consumers.BindInput, input: true },
  Binding: { schema: consumers.Binding },
  BindingPage: { schema: consumers.BindingPage },
  RemoteInput: { schema: remotes.CreateRemoteInput, input: true },
  RemoteUpdate: { schema: remotes.UpdateRemoteInput, input: true },
  Remote: { schema: remotes.RemoteRecord },
  RemotePage: { schema: remotes.RemotePage },
  DistributionInput: { schema: distributions.CreateDistributionInput, input: true },
  DistributionUpdate: { schema: distributions.UpdateDistributionInput, input: true },
  Distribution: { schema: distributions.Distribution },
  DistributionPage: { schema: distributions.DistributionPage },
  Reclaimed: { schema: distributions.Reclaimed },
  OpenApi: { schema: z.record(z.string(), z.unknown()) },
  OrphanCleanup: { schema: tasks.OrphanCleanupInput, input: true }
} satisfies Record<string, { schema: z.ZodType, input?: boolean }>

export type ComponentName = keyof typeof COMPONENTS

export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** The Express path, e.g. `/repositories/:id`. */
  path: string
  tag: string
  summary: string
  /** Path parameters that are not ids (an id is checked as every id is). */
  params?: Record<string, z.ZodType>
  query?: Record<string, z.ZodType>
  /** A component for a JSON body, or `multipart` for an upload. */
  body?: ComponentName | 'multipart'
  /** Success status -> component, or null for no body, or `PrometheusText`. */
  responses: Record<number, ComponentName | null | 'PrometheusText'>
  /** Error statuses besides those every route of its shape can answer (see errorStatuses). */
  errors?: number[]
}

/** What each error status means, as the document says it. */
const ERROR_STATUSES: Record<number, string> = {
  400: 'bad input: the message names the field or parameter to fix',
  401: 'authentication required (authorize said no, and the request carried no credentials)',
  403: 'not allowed (authorize said no)',
  404: 'no such resource',
  409: 'conflict: a duplicate, something in use, or a task already ended',
  413: 'the body (or a file) is too large',
  415: 'the body is not of the media type the route takes',
  500: 'internal error (the message names a local fault, never a stack trace)',
  503: 'the instance is closing or failed to start',
  507: 'the disk or database is full'
}

const page = { limit: PageQuery.shape.limit, offset: PageQuery.shape.offset }
/** Task ids are looked up, not checked: a malformed one is simply not found. */
const taskId = { taskId: z.string().max(36) }
const unitId = { unitId: z.string().min(1) }

export const OPERATIONS: OperationSpec[] = [
  { method: 'get', path: '/status', tag: 'status', summary: 'Versions, database reachability and runner state', responses: { 200: 'Status' } },
  { method: 'get', path: '/openapi.json', tag: 'status', summary: 'This document', responses: { 200: 'OpenApi' } },
  { method: 'post', path: '/orphans/cleanup', tag: 'orphans', summary: 'Remove artifacts nothing references (a task)', body: 'OrphanCleanup', responses: { 202: 'Task' } },
  { method: 'get', path: '/metrics', tag: 'status', summary: 'Prometheus metrics of this instance (text format)', responses: { 200: 'PrometheusText' } },

  { method: 'post', path: '/repositories', tag: 'repositories', summary: 'Create a repository', body: 'RepositoryInput', responses: { 201: 'Repository' }, errors: [409] },
  { method: 'get', path: '/repositories', tag: 'repositories', summary: 'List repositories', query: page, responses: { 200: 'RepositoryPage' } },
  { method: 'get', path: '/repositories/:id', tag: 'repositories', summary: 'Read a repository', responses: { 200: 'Repository' } },
  { method: 'patch', path: '/repositories/:id', tag: 'repositories', summary: 'Update a repository', body: 'RepositoryUpdate', responses: { 200: 'Repository' } },
  { method: 'delete', path: '/repositories/:id', tag: 'repositories', summary: 'Delete a repository (its distributors unpublish first)', responses: { 204: null } },
  { method: 'post', path: '/repositories/:id/content', tag: 'content', summary: 'Upload one or more files as units, all or none', body: 'multipart', responses: { 201: 'UploadResult' } },
  { method: 'get', path: '/repositories/:id/content', tag: 'content', summary: 'List the units of a repository (relative_path: only the unit at that path)', query: { relativePath: content.ContentPath, ...page }, responses: { 200: 'UnitPage' } },
  { method: 'delete', path: '/repositories/:id/content', tag: 'content', summary: 'Remove the unit at ?relative_path=', query: { relativePath: content.ContentPath }, responses: { 204: null } },
  { method: 'delete', path: '/repositories/:id/content/:unitId', tag: 'content', summary: 'Remove a unit from a repository', params: unitId, responses: { 204: null } },

  { method: 'post', path: '/repositories/:id/distributors', tag: 'distributors', summary: 'Add a distributor (its validateConfig decides)', body: 'DistributorInput', responses: { 201: 'Distributor' }, errors: [409] },
  { method: 'get', path: '/repositories/:id/distributors', tag: 'distributors', summary: "List a repository's distributors", query: page, responses: { 200: 'DistributorPage' } },
  { method: 'get', path: '/repositories/:id/distributors/:did', tag: 'distributors', summary: 'Read a distributor', responses: { 200: 'Distributor' } },
  { method: 'put', path: '/repositories/:id/distributors/:did', tag: 'distributors', summary: 'Update a distributor (config keys merge; null deletes)', body: 'DistributorUpdate', responses: { 200: 'Distributor' }, errors: [409] },
  { method: 'delete', path: '/repositories/:id/distributors/:did', tag: 'distributors', summary: 'Remove a distributor (distributorRemoved unpublishes)', responses: { 204: null }, errors: [409] },
  { method: 'post', path: '/repositories/:id/actions/publish', tag: 'publish', summary: `Queue a publish; with ?wait=SECONDS (at most ${distributors.MAX_PUBLISH_WAIT}) answer 200 with the task if it ends by then`, query: { wait: distributors.PublishWait }, body: 'PublishRequest', responses: { 200: 'Task', 202: 'Task' } },
  { method: 'get', path: '/repositories/:id/history/publish/:did', tag: 'publish', summary: 'Publish history of a distributor, newest first', query: page, responses: { 200: 'PublishHistoryPage' } },

  { method: 'get', path: '/tasks', tag: 'tasks', summary: 'List tasks, newest first', query: { state: tasks.TaskStateQuery, ...tasks.TaskFilters.shape, ...page }, responses: { 200: 'TaskPage' } },
  { method: 'get', path: '/tasks/:taskId', tag: 'tasks', summary: 'Read a task', params: taskId, responses: { 200: 'Task' } },
  { method: 'delete', path: '/tasks/:taskId', tag: 'tasks', summary: 'Cancel a task', params: taskId, responses: { 202: 'Task' }, errors: [409] },

  { method: 'post', path: '/consumers', tag: 'consumers', summary: 'Create a consumer', body: 'ConsumerInput', responses: { 201: 'Consumer' }, errors: [409] },
  { method: 'get', path: '/consumers', tag: 'consumers', summary: 'List consumers', query: page, responses: { 200: 'ConsumerPage' } },
  { method: 'get', path: '/consumers/:id', tag: 'consumers', summary: 'Read a consumer', responses: { 200: 'Consumer' } },
  { method: 'delete', path: '/consumers/:id', tag: 'consumers', summary: 'Delete a consumer and its bindings', responses: { 204: null } },
  { method: 'post', path: '/consumers/:id/bindings', tag: 'consumers', summary: "Bind to a repository's distributor", body: 'BindingInput', responses: { 201: 'Binding' }, errors: [409] },
  { method: 'get', path: '/consumers/:id/bindings', tag: 'consumers', summary: 'List bindings with fresh payloads', query: page, responses: { 200: 'BindingPage' } },
  { method: 'delete', path: '/consumers/:id/bindings/:repoId/:distributorId', tag: 'consumers', summary: 'Unbind', responses: { 204: null } },

  { method: 'post', path: '/remotes', tag: 'remotes', summary: 'Create a remote for pull-through', body: 'RemoteInput', responses: { 201: 'Remote' }, errors: [409] },
  { method: 'get', path: '/remotes', tag: 'remotes', summary: 'List remotes (header values masked)', query: page, responses: { 200: 'RemotePage' } },
  { method: 'get', path: '/remotes/:name', tag: 'remotes', summary: 'Read a remote (header values masked)', responses: { 200: 'Remote' } },
  { method: 'patch', path: '/remotes/:name', tag: 'remotes', summary: 'Update a remote', body: 'RemoteUpdate', responses: { 200: 'Remote' } },
  { method: 'delete', path: '/remotes/:name', tag: 'remotes', summary: 'Delete a remote and its pull-through index', responses: { 204: null }, errors: [409] },

  { method: 'post', path: '/distributions', tag: 'distributions', summary: 'Create a distribution', body: 'DistributionInput', responses: { 201: 'Distribution' }, errors: [409] },
  { method: 'get', path: '/distributions', tag: 'distributions', summary: 'List distributions', query: page, responses: { 200: 'DistributionPage' } },
  { method: 'get', path: '/distributions/:name', tag: 'distributions', summary: 'Read a distribution', responses: { 200: 'Distribution' } },
  { method: 'patch', path: '/distributions/:name', tag: 'distributions', summary: 'Update a distribution', body: 'DistributionUpdate', responses: { 200: 'Distribution' }, errors: [409] },
  { method: 'post', path: '/distributions/:name/reclaim', tag: 'distributions', summary: 'Evict what is over cache_max_bytes now (least recently served first)', responses: { 200: 'Reclaimed' } },
  { method: 'delete', path: '/distributions/:name', tag: 'distributions', summary: 'Delete a distribution', responses: { 204: null } }
]

/** `/repositories/:id` -> `/repositories/{id}`. */
export function openApiPath (expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

function pathParams (op: OperationSpec): string[] {
  return [...op.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1])
}

/**
 * Every error status the route can answer, from its shape: any route may be refused (401,
 * 403), fail (500) or find its instance closing (503); an id in the path may be malformed (400)
 * or name nothing (404); a query may be bad (400); a body may be bad, too large or not JSON
 * (400, 413, 415); a write may find the disk full (507).
 */
export function errorStatuses (op: OperationSpec): number[] {
  const out = new Set([401, 403, 500, 503, ...(op.errors ?? [])])
  const params = pathParams(op)
  if (params.length > 0) out.add(404)
  if (params.some((p) => op.params?.[p] === undefined) || op.query !== undefined) out.add(400)
  if (op.body !== undefined) for (const s of [400, 413, 415]) out.add(s)
  if (op.method !== 'get') out.add(507)
  return [...out].sort((a, b) => a - b)
}

/** Our objects' field names as the wire spells them; user data (no `properties`) is left alone. */
function wireCase (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(wireCase)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [snakeCase(k), wireCase(v)]))
    else if (key === 'required') out[key] = (value as string[]).map(snakeCase)
    else out[key] = wireCase(value)
  }
  return out
}

/** A zod schema as an OpenAPI 3.0 schema object, its field names in snake_case. */
export function jsonSchema (schema: z.ZodType, io: 'input' | 'output' = 'output'): Schema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', metadata: schemaDocs, io, unrepresentable: 'any' })
  return wireCase(rest) as Schema
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` })

function operation (op: OperationSpec): Schema {
  const parameters = [
    ...pathParams(op).map((name) => ({ name, in: 'path', required: true, schema: jsonSchema(op.params?.[name] ?? id(), 'input') })),
    ...Object.entries(op.query ?? {}).map(([name, schema]) => ({ name: snakeCase(name), in: 'query', required: false, schema: jsonSchema(schema, 'input') }))
  ]
  const responses: Record<string, Schema> = {}
  for (const [status, name] of Object.entries(op.responses)) {
    responses[status] = name === null
      ? { description: 'no content' }
      : name === 'PrometheusText'
        ? { description: 'success', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } }
        : { description: 'success', content: { 'application/json': { schema: ref(name) } } }
  }
  for (const status of errorStatuses(op)) {
    responses[status] = { description: ERROR_STATUSES[status], content: { 'application/json': { schema: ref('Error') } } }
  }
  const body = op.body === undefined
    ? {}
    : { requestBody: { required: true, content: op.body === 'multipart' ? { 'multipart/form-data': { schema: ref('Upload') } } : { 'application/json': { schema: ref(op.body) } } } }
  return { tags: [op.tag], summary: op.summary, ...(parameters.length > 0 ? { parameters } : {}), ...body, responses }
}

/** The whole document; `serverUrl` is where the API is mounted (e.g. `/pulp/api/v1`). */
export function openApiDocument (version: string, serverUrl: string, operations: readonly OperationSpec[] = OPERATIONS): Schema {
  const paths: Record<string, Record<string, Schema>> = {}
  for (const op of operations) (paths[openApiPath(op.path)] ??= {})[op.method] = operation(op)
  const schemas: Record<string, Schema> = {}
  for (const [name, c] of Object.entries(COMPONENTS)) schemas[name] = jsonSchema(c.schema, 'input' in c ? 'input' : 'output')
  return {
    openapi: '3.0.3',
    info: { title: 'pulp-middleware REST API', version },
    servers: [{ url: serverUrl === '' ? '/' : serverUrl }],
    paths,
    components: { schemas }
  }
}
