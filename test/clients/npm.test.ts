import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { skipUnless, startSite, type PublishedSite } from '../support/clients'
import { NpmClient } from '../support/npm-client'

const skip = skipUnless('npm')
/** A registry that answers nothing: only the tarball's URL is used. */
const NO_REGISTRY = 'http://127.0.0.1:9/'

describe('npm install of a tarball URL from the static tree', { skip }, () => {
  let npm: NpmClient
  let site: PublishedSite
  let tarball: Buffer
  const INDEX = "module.exports = 'tiny'\n"

  before(async () => {
    npm = await NpmClient.create()
    tarball = await npm.pack('tiny-pkg-1.0.0.tgz', {
      'package.json': JSON.stringify({ name: 'tiny-pkg', version: '1.0.0', main: 'index.js', license: 'MIT' }),
      'index.js': INDEX
    })
    site = await startSite({ relativeUrl: 'npm' })
    await site.publish({ 'tiny-pkg/-/tiny-pkg-1.0.0.tgz': tarball })
  })
  after(async () => {
    await site?.close()
    await npm?.cleanup()
  })

  it('installs the package into a project and records the URL and the tarball\'s integrity', async () => {
    const url = `${site.url}/tiny-pkg/-/tiny-pkg-1.0.0.tgz`
    const installed = await npm.install(NO_REGISTRY, [url])
    assert.ok(installed.ok, installed.stderr)
    const { project } = installed
    assert.equal(await readFile(path.join(project, 'node_modules', 'tiny-pkg', 'index.js'), 'utf8'), INDEX)
    const entry = await npm.lockEntry(project, 'tiny-pkg')
    assert.equal(entry?.resolved, url)
    assert.equal(entry?.integrity, `sha512-${createHash('sha512').update(tarball).digest('base64')}`)
    assert.equal(JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')).dependencies['tiny-pkg'], url)
    assert.ok(site.requests.some((r) => r.url === '/pulp/content/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz' && r.method === 'GET' && r.status === 200))
  })
})
