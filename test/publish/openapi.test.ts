import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import type { Router } from 'express'
import { createApiRouter } from '../../lib/api/router'
import { OPERATIONS, openApiPath } from '../../lib/api/openapi'
import { createContext } from '../../lib/core/context'
import { resolveOptions } from '../../lib/options'
import { createServices } from '../../lib/services'
import { openConnection } from '../../lib/storage/connection'
import { createPgDatabase, dialects, type DialectName } from '../support/databases'
import { startPulp, tempDir, type TestPulp } from '../support/pulp'
import { API, api } from '../support/publish-env'

interface Layer {
  route?: { path: string, methods: Record<string, boolean> }
  handle: { stack?: Layer[] }
  slash?: boolean
}

/** Every `METHOD /path` the router mounts, following routers mounted with `use()` at the root. */
function mountedRoutes (router: Router): string[] {
  const found: string[] = []
  const walk = (stack: Layer[]): void => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${layer.route.path}`)
      } else if (Array.isArray(layer.handle.stack)) {
        assert.ok(layer.slash, 'sub-routers are mounted at the root, so route paths are whole')
        walk(layer.handle.stack)
      }
    }
  }
  walk((router as unknown as { stack: Layer[] }).stack)
  return found.sort()
}

/** The API router exactly as the factory builds it, on a throw-away data directory and database. */
async function builtApiRouter (dialect: DialectName): Promise<{ router: Router, close: () => Promise<void> }> {
  const dataDir = await tempDir()
  const db = dialect === 'postgresql' ? await createPgDatabase() : undefined
  const options = resolveOptions({ dataDir, database: db?.config })
  const connection = openConnection(options.database, dataDir)
  const ctx = createContext(options, connection, 'openapi-test')
  const router = createApiRouter(createServices(ctx))
  return {
    router,
    close: async () => { await connection.knex.destroy(); await db?.drop(); await rm(dataDir, { recursive: true, force: true }) }
  }
}

for (const d of dialects()) {
  describe(`GET /openapi.json (${d.name})`, { skip: d.skip }, () => {
    let t: TestPulp
    before(async () => { t = await startPulp({ dialect: d.name, runner: false }) })
    after(async () => { await t?.cleanup() })

    it('describes every mounted API route, and nothing else', async () => {
      const res = await api(t).get(`${API}/openapi.json`).expect(200)
      const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort()
      const built = await builtApiRouter(d.name)
      try {
        const mounted = mountedRoutes(built.router).map((r) => r.replace(/ (.*)$/, (_m, p: string) => ` ${openApiPath(p)}`))
        assert.ok(mounted.length >= OPERATIONS.length - 1, 'the walk found the routes')
        assert.deepEqual(documented, [...new Set(mounted)].sort())
      } finally {
        await built.close()
      }
    })

    it('is an OpenAPI 3 document whose servers entry is where the API is mounted', async () => {
      const res = await api(t).get(`${API}/openapi.json`).expect(200)
      assert.match(res.body.openapi, /^3\./)
      assert.deepEqual(res.body.servers, [{ url: API }])
      const publish = res.body.paths['/repositories/{id}/actions/publish'].post
      assert.deepEqual(publish.parameters.map((p: { name: string }) => p.name), ['id', 'wait'])
      assert.equal(publish.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/Task')
      assert.equal(publish.responses['202'].content['application/json'].schema.$ref, '#/components/schemas/Task')
      const refs = JSON.stringify(res.body.paths).match(/#\/components\/schemas\/\w+/g) ?? []
      for (const ref of new Set(refs)) assert.ok(res.body.components.schemas[ref.split('/').pop() as string], `${ref} is defined`)
    })
  })
}
