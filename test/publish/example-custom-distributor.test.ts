import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { ExportDistributor, main } from '../../examples/custom-distributor'
import { createPgDatabase, dialects } from '../support/databases'
import { startPulp, tempDir } from '../support/pulp'
import { API, api } from '../support/publish-env'
import { execFileAsync } from '../support/processes'

for (const d of dialects()) {
  describe(`examples/custom-distributor.ts (${d.name})`, { skip: d.skip }, () => {
    it('exports a repository into the configured directory', async () => {
      const dir = await tempDir()
      const db = d.name === 'postgresql' ? await createPgDatabase() : undefined
      try {
        const lines: string[] = []
        const { task, files } = await main(path.join(dir, 'out'), (line) => lines.push(line), db?.config)
        assert.equal(task.state, 'finished')
        assert.deepEqual(task.result, { result: 'success', summary: { exported: 2, directory: path.join(dir, 'out') }, details: null })
        assert.deepEqual(files, ['css/site.css', 'index.html'])
        assert.equal(await readFile(path.join(dir, 'out', 'index.html'), 'utf8'), '<h1>Hello</h1>\n')
        assert.match(lines[0], /^publish finished/)
      } finally {
        await db?.drop()
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('refuses a relative or unwritable directory with 400', async () => {
      const t = await startPulp({ dialect: d.name, runner: false, plugins: [{ distributors: [ExportDistributor] }] })
      try {
        await api(t).post(`${API}/repositories`).send({ id: 'r' }).expect(201)
        const relative = await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'export', distributor_config: { directory: 'out' } }).expect(400)
        assert.equal(relative.body.error.message, '"directory" must be an absolute path')
        // A file where a directory must go (permissions would not stop root, who runs CI).
        await writeFile(path.join(t.dataDir, 'a-file'), '')
        const blocked = path.join(t.dataDir, 'a-file', 'out')
        const unwritable = await api(t).post(`${API}/repositories/r/distributors`).send({ distributor_type_id: 'export', distributor_config: { directory: blocked } }).expect(400)
        assert.equal(unwritable.body.error.message, `"directory" ${blocked} is not writable`)
      } finally {
        await t.cleanup()
      }
    })
  })
}

describe('examples/custom-distributor.ts from the command line', () => {
  it('exports into the directory it is given, on its SQLite default', { timeout: 60_000 }, async () => {
    const dir = await tempDir()
    try {
      const script = path.join(__dirname, '..', '..', 'examples', 'custom-distributor.ts')
      const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', script, path.join(dir, 'cli')])
      assert.match(stdout, /publish finished/)
      assert.equal(await readFile(path.join(dir, 'cli', 'css', 'site.css'), 'utf8'), 'body { color: teal }\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
