/**
 * The OpenAPI 3 description of the REST API. Each route the API mounts has an entry in
 * OPERATIONS; a test walks the mounted router and fails for a route without one (and for an
 * entry without a route), so this stays true as routes are added.
 */

type Schema = Record<string, unknown>

export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** The Express path, e.g. `/repositories/:id`. */
  path: string
  tag: string
  summary: string
  query?: string[]
  /** A component schema name for a JSON body, or `multipart` for an upload. */
  body?: string
  /** Status -> component schema name, or null for no body. */
  responses: Record<number, string | null>
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` })
const page = (item: string): Schema => ({
  type: 'object', required: ['count', 'results'], properties: { count: { type: 'integer' }, results: { type: 'array', items: ref(item) } }
})
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', properties, ...(required.length > 0 ? { required } : {}) })
const str: Schema = { type: 'string' }
const nstr: Schema = { type: 'string', nullable: true }
const json: Schema = { type: 'object', additionalProperties: true }
const any: Schema = { nullable: true }
const FRESHNESS_FIELDS: Record<string, Schema> = {
  metadata_patterns: { type: 'array', items: str, nullable: true, description: 'globs (`*` within a segment, `**` any segments) of metadata paths; null: the type\'s default' },
  metadata_ttl: { type: 'number', default: 300, description: 'seconds a metadata copy is fresh' },
  stale_if_error: { type: 'number', default: 86400, description: 'seconds after expiry a copy is still served while the upstream fails' },
  max_failures: { type: 'integer', default: 5, description: 'consecutive upstream failures before the remote is marked down' }
}
const REMOTE_HEALTH: Schema = {
  ...obj({ state: { type: 'string', enum: ['up', 'down'] }, consecutive_failures: { type: 'integer' }, down_since: nstr, retry_at: nstr }),
  description: 'upstream health, shared by every instance on the database (GET /remotes/{name} only)'
}

const CACHE_MAX_BYTES: Schema = {
  type: 'integer',
  nullable: true,
  minimum: 0,
  default: null,
  description: 'the most bytes of immutable pulled files kept; beyond it the least recently served lose their bytes and are pulled again when asked (null: no limit)'
}

const SCHEMAS: Record<string, Schema> = {
  Error: obj({ error: obj({ code: str, message: str }, ['code', 'message']) }, ['error']),
  Status: obj({
    versions: json,
    database: json,
    runner: json,
    disk: obj({ artifacts: { type: 'integer' }, tmp: { type: 'integer' }, distributions: { type: 'object', additionalProperties: { type: 'integer' }, description: 'bytes each distribution\'s pull-through cache holds (evicted files not counted)' } }),
    remotes: { type: 'object', additionalProperties: REMOTE_HEALTH, description: 'each remote\'s upstream health, by name' }
  }),
  RepositoryInput: obj({ id: str, display_name: nstr, description: nstr, notes: json }, ['id']),
  RepositoryUpdate: obj({ display_name: nstr, description: nstr, notes: json }),
  Repository: obj({
    id: str, display_name: nstr, description: nstr, notes: json, content_unit_counts: json, total_repository_units: { type: 'integer' },
    last_unit_added: nstr, last_unit_removed: nstr, content_version: { type: 'integer' }, created: str, updated: str
  }),
  RepositoryPage: page('Repository'),
  Unit: obj({ id: str, type_id: str, relative_path: str, sha256: str, size: { type: 'integer' }, created: str, added: str }),
  UnitPage: page('Unit'),
  Upload: {
    ...obj({
      file: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'one or more file parts (at most 1000)' },
      relative_path: { type: 'array', items: str, description: "each placed before its file part; a part without one takes its file name" }
    }, ['file']),
    description: 'all parts become units, or none do (a bad relative_path answers 400 naming the part)'
  },
  UploadResult: obj({ units: { type: 'array', items: ref('Unit') } }),
  DistributorInput: obj({ distributor_type_id: str, distributor_id: str, distributor_config: json, auto_publish: { type: 'boolean' } }, ['distributor_type_id']),
  DistributorUpdate: obj({ distributor_config: { ...json, description: 'keys to set; a key set to null is deleted' }, auto_publish: { type: 'boolean' } }),
  Distributor: obj({ id: str, repo_id: str, distributor_type_id: str, config: json, auto_publish: { type: 'boolean' }, last_publish: nstr, created: str, updated: str }),
  DistributorPage: page('Distributor'),
  PublishRequest: obj({ id: { ...str, description: 'the distributor id' }, override_config: json }, ['id']),
  Task: obj({
    task_id: str,
    task_type: str,
    state: { type: 'string', enum: ['waiting', 'running', 'finished', 'failed', 'canceled', 'skipped'] },
    repo_id: nstr,
    distributor_id: nstr,
    override_config: json,
    progress_report: any,
    result: any,
    error: { ...obj({ code: str, message: str }), nullable: true },
    worker_id: nstr,
    cancel_requested: { type: 'boolean' },
    created: str,
    started: nstr,
    finished: nstr
  }),
  TaskPage: page('Task'),
  PublishHistoryEntry: obj({
    id: { type: 'integer' }, repo_id: str, distributor_id: str, task_id: nstr, started: str, completed: str,
    result: { type: 'string', enum: ['success', 'failed', 'error', 'skipped', 'canceled'] }, summary: any, details: any, error_message: nstr
  }),
  PublishHistoryPage: page('PublishHistoryEntry'),
  ConsumerInput: obj({ id: str, display_name: nstr, description: nstr, notes: json }, ['id']),
  Consumer: obj({ id: str, display_name: nstr, description: nstr, notes: json, created: str }),
  ConsumerPage: page('Consumer'),
  BindingInput: obj({ repo_id: str, distributor_id: str, binding_config: json }, ['repo_id', 'distributor_id']),
  Binding: obj({ consumer_id: str, repo_id: str, distributor_id: str, binding_config: json, created: str, details: { ...any, description: "the distributor's consumer payload" } }),
  BindingPage: page('Binding'),
  RemoteInput: obj({
    name: str, url: { ...str, description: 'http or https' }, remote_type_id: { ...str, default: 'file' },
    headers: { type: 'object', additionalProperties: str, nullable: true, description: 'sent upstream; read back as "***"' },
    policy: { type: 'string', enum: ['on_demand', 'streamed'] }, connect_timeout: { type: 'number', nullable: true },
    total_timeout: { type: 'number', nullable: true }, read_timeout: { type: 'number', nullable: true, default: 30, description: 'seconds the upstream may send nothing (before its headers or within its body) before the request fails (504 before the headers, a cut connection after); null restores the default' }, proxy_url: nstr, tls_validation: { type: 'boolean' }, negative_cache_ttl: { type: 'number', nullable: true },
    ...FRESHNESS_FIELDS
  }, ['name', 'url']),
  RemoteUpdate: obj({
    url: str, remote_type_id: str, headers: { type: 'object', additionalProperties: str, nullable: true, description: 'replaces the set; "***" keeps a stored value' },
    policy: { type: 'string', enum: ['on_demand', 'streamed'] }, connect_timeout: { type: 'number', nullable: true },
    total_timeout: { type: 'number', nullable: true }, read_timeout: { type: 'number', nullable: true, default: 30, description: 'seconds the upstream may send nothing (before its headers or within its body) before the request fails (504 before the headers, a cut connection after); null restores the default' }, proxy_url: nstr, tls_validation: { type: 'boolean' }, negative_cache_ttl: { type: 'number', nullable: true },
    ...FRESHNESS_FIELDS
  }),
  Remote: obj({
    name: str, url: str, remote_type_id: str, headers: { type: 'object', additionalProperties: { type: 'string', enum: ['***'] } },
    policy: { type: 'string', enum: ['on_demand', 'streamed'] }, connect_timeout: { type: 'number', nullable: true },
    total_timeout: { type: 'number', nullable: true }, read_timeout: { type: 'number', description: 'seconds without a byte from the upstream before a request fails' },
    proxy_url: nstr, tls_validation: { type: 'boolean' },
    negative_cache_ttl: { type: 'number', nullable: true }, ...FRESHNESS_FIELDS, health: REMOTE_HEALTH, created: str, updated: str
  }),
  RemotePage: page('Remote'),
  DistributionInput: obj({ name: str, base_path: str, repository: nstr, remote: nstr, cache_max_bytes: CACHE_MAX_BYTES }, ['name', 'base_path']),
  DistributionUpdate: obj({ base_path: str, repository: nstr, remote: nstr, cache_max_bytes: CACHE_MAX_BYTES }),
  Distribution: obj({
    name: str, base_path: str, repository: nstr, remote: nstr, cache_max_bytes: CACHE_MAX_BYTES, created: str, updated: str
  }),
  DistributionPage: page('Distribution'),
  Reclaimed: obj({
    files: { type: 'integer', description: 'files whose bytes were evicted' },
    bytes: { type: 'integer', description: 'bytes freed' },
    cached: { type: 'integer', description: 'bytes the distribution\'s cache holds now' },
    busy: { type: 'boolean', description: 'another instance was evicting for the same remote: nothing was done here' }
  }),
  OpenApi: json,
  OrphanCleanup: obj({ orphan_protection_time: { type: 'integer', minimum: 0, description: 'minutes; artifacts younger than this stay (default 1440)' } })
}

const PAGE = ['limit', 'offset']

export const OPERATIONS: OperationSpec[] = [
  { method: 'get', path: '/status', tag: 'status', summary: 'Versions, database reachability and runner state', responses: { 200: 'Status' } },
  { method: 'get', path: '/openapi.json', tag: 'status', summary: 'This document', responses: { 200: 'OpenApi' } },
  { method: 'post', path: '/orphans/cleanup', tag: 'orphans', summary: 'Remove artifacts nothing references (a task)', body: 'OrphanCleanup', responses: { 202: 'Task', 400: 'Error' } },
  { method: 'get', path: '/metrics', tag: 'status', summary: 'Prometheus metrics of this instance (text format)', responses: { 200: 'PrometheusText' } },

  { method: 'post', path: '/repositories', tag: 'repositories', summary: 'Create a repository', body: 'RepositoryInput', responses: { 201: 'Repository', 409: 'Error' } },
  { method: 'get', path: '/repositories', tag: 'repositories', summary: 'List repositories', query: PAGE, responses: { 200: 'RepositoryPage' } },
  { method: 'get', path: '/repositories/:id', tag: 'repositories', summary: 'Read a repository', responses: { 200: 'Repository', 404: 'Error' } },
  { method: 'patch', path: '/repositories/:id', tag: 'repositories', summary: 'Update a repository', body: 'RepositoryUpdate', responses: { 200: 'Repository', 404: 'Error' } },
  { method: 'delete', path: '/repositories/:id', tag: 'repositories', summary: 'Delete a repository (its distributors unpublish first)', responses: { 204: null, 404: 'Error' } },
  { method: 'post', path: '/repositories/:id/content', tag: 'content', summary: 'Upload one or more files as units, all or none', body: 'multipart', responses: { 201: 'UploadResult', 400: 'Error', 413: 'Error', 415: 'Error', 507: 'Error' } },
  { method: 'get', path: '/repositories/:id/content', tag: 'content', summary: 'List the units of a repository (relative_path: only the unit at that path)', query: ['relative_path', ...PAGE], responses: { 200: 'UnitPage' } },
  { method: 'delete', path: '/repositories/:id/content', tag: 'content', summary: 'Remove the unit at ?relative_path=', query: ['relative_path'], responses: { 204: null, 400: 'Error', 404: 'Error' } },
  { method: 'delete', path: '/repositories/:id/content/:unitId', tag: 'content', summary: 'Remove a unit from a repository', responses: { 204: null, 404: 'Error' } },

  { method: 'post', path: '/repositories/:id/distributors', tag: 'distributors', summary: 'Add a distributor (its validateConfig decides)', body: 'DistributorInput', responses: { 201: 'Distributor', 400: 'Error', 404: 'Error', 409: 'Error' } },
  { method: 'get', path: '/repositories/:id/distributors', tag: 'distributors', summary: "List a repository's distributors", query: PAGE, responses: { 200: 'DistributorPage' } },
  { method: 'get', path: '/repositories/:id/distributors/:did', tag: 'distributors', summary: 'Read a distributor', responses: { 200: 'Distributor', 404: 'Error' } },
  { method: 'put', path: '/repositories/:id/distributors/:did', tag: 'distributors', summary: 'Update a distributor (config keys merge; null deletes)', body: 'DistributorUpdate', responses: { 200: 'Distributor', 400: 'Error', 404: 'Error' } },
  { method: 'delete', path: '/repositories/:id/distributors/:did', tag: 'distributors', summary: 'Remove a distributor (distributorRemoved unpublishes)', responses: { 204: null, 404: 'Error', 409: 'Error' } },
  { method: 'post', path: '/repositories/:id/actions/publish', tag: 'publish', summary: 'Queue a publish; with ?wait=SECONDS (at most 60) answer 200 with the task if it ends by then', query: ['wait'], body: 'PublishRequest', responses: { 200: 'Task', 202: 'Task', 400: 'Error', 404: 'Error' } },
  { method: 'get', path: '/repositories/:id/history/publish/:did', tag: 'publish', summary: 'Publish history of a distributor, newest first', query: PAGE, responses: { 200: 'PublishHistoryPage', 404: 'Error' } },

  { method: 'get', path: '/tasks', tag: 'tasks', summary: 'List tasks, newest first', query: ['state', 'repo_id', 'distributor_id', ...PAGE], responses: { 200: 'TaskPage' } },
  { method: 'get', path: '/tasks/:taskId', tag: 'tasks', summary: 'Read a task', responses: { 200: 'Task', 404: 'Error' } },
  { method: 'delete', path: '/tasks/:taskId', tag: 'tasks', summary: 'Cancel a task', responses: { 202: 'Task', 404: 'Error', 409: 'Error' } },

  { method: 'post', path: '/consumers', tag: 'consumers', summary: 'Create a consumer', body: 'ConsumerInput', responses: { 201: 'Consumer', 409: 'Error' } },
  { method: 'get', path: '/consumers', tag: 'consumers', summary: 'List consumers', query: PAGE, responses: { 200: 'ConsumerPage' } },
  { method: 'get', path: '/consumers/:id', tag: 'consumers', summary: 'Read a consumer', responses: { 200: 'Consumer', 404: 'Error' } },
  { method: 'delete', path: '/consumers/:id', tag: 'consumers', summary: 'Delete a consumer and its bindings', responses: { 204: null, 404: 'Error' } },
  { method: 'post', path: '/consumers/:id/bindings', tag: 'consumers', summary: "Bind to a repository's distributor", body: 'BindingInput', responses: { 201: 'Binding', 404: 'Error', 409: 'Error' } },
  { method: 'get', path: '/consumers/:id/bindings', tag: 'consumers', summary: 'List bindings with fresh payloads', query: PAGE, responses: { 200: 'BindingPage', 404: 'Error' } },
  { method: 'delete', path: '/consumers/:id/bindings/:repoId/:distributorId', tag: 'consumers', summary: 'Unbind', responses: { 204: null, 404: 'Error' } },

  { method: 'post', path: '/remotes', tag: 'remotes', summary: 'Create a remote for pull-through', body: 'RemoteInput', responses: { 201: 'Remote', 400: 'Error', 409: 'Error' } },
  { method: 'get', path: '/remotes', tag: 'remotes', summary: 'List remotes (header values masked)', query: PAGE, responses: { 200: 'RemotePage' } },
  { method: 'get', path: '/remotes/:name', tag: 'remotes', summary: 'Read a remote (header values masked)', responses: { 200: 'Remote', 404: 'Error' } },
  { method: 'patch', path: '/remotes/:name', tag: 'remotes', summary: 'Update a remote', body: 'RemoteUpdate', responses: { 200: 'Remote', 400: 'Error', 404: 'Error' } },
  { method: 'delete', path: '/remotes/:name', tag: 'remotes', summary: 'Delete a remote and its pull-through index', responses: { 204: null, 404: 'Error', 409: 'Error' } },

  { method: 'post', path: '/distributions', tag: 'distributions', summary: 'Create a distribution', body: 'DistributionInput', responses: { 201: 'Distribution', 400: 'Error', 409: 'Error' } },
  { method: 'get', path: '/distributions', tag: 'distributions', summary: 'List distributions', query: PAGE, responses: { 200: 'DistributionPage' } },
  { method: 'get', path: '/distributions/:name', tag: 'distributions', summary: 'Read a distribution', responses: { 200: 'Distribution', 404: 'Error' } },
  { method: 'patch', path: '/distributions/:name', tag: 'distributions', summary: 'Update a distribution', body: 'DistributionUpdate', responses: { 200: 'Distribution', 400: 'Error', 404: 'Error', 409: 'Error' } },
  { method: 'post', path: '/distributions/:name/reclaim', tag: 'distributions', summary: 'Evict what is over cache_max_bytes now (least recently served first)', responses: { 200: 'Reclaimed', 404: 'Error' } },
  { method: 'delete', path: '/distributions/:name', tag: 'distributions', summary: 'Delete a distribution', responses: { 204: null, 404: 'Error' } }
]

/** `/repositories/:id` -> `/repositories/{id}`. */
export function openApiPath (expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

function operation (op: OperationSpec): Schema {
  const parameters = [
    ...[...op.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str })),
    ...(op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: PAGE.includes(name) ? { type: 'integer', minimum: 0 } : str }))
  ]
  const responses: Record<string, Schema> = {}
  for (const [status, schema] of Object.entries(op.responses)) {
    responses[status] = schema === null
      ? { description: 'no content' }
      : schema === 'PrometheusText'
        ? { description: 'success', content: { 'text/plain; version=0.0.4': { schema: str } } }
        : { description: schema === 'Error' ? 'error' : 'success', content: { 'application/json': { schema: ref(schema) } } }
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
  return {
    openapi: '3.0.3',
    info: { title: 'pulp-middleware REST API', version },
    servers: [{ url: serverUrl === '' ? '/' : serverUrl }],
    paths,
    components: { schemas: SCHEMAS }
  }
}
