import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { isolatedEnv, skipUnless, startSite, type PublishedSite } from '../support/clients'

const run = promisify(execFile)
const skip = skipUnless('npm')

describe('npm install of a tarball URL from the static tree', { skip }, () => {
  let work: string
  let env: NodeJS.ProcessEnv
  let npmArgs: string[]
  let site: PublishedSite
  let tarball: Buffer
  const INDEX = "module.exports = 'tiny'\n"

  async function npm (cwd: string, ...args: string[]): Promise<string> {
    return (await run('npm', [...args, ...npmArgs], { cwd, env, timeout: 60_000 })).stdout
  }

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'npm-client-'))
    const home = path.join(work, 'home')
    await mkdir(home)
    // Its own cache and (empty) config files, and a registry that answers nothing: only the URL is used.
    const userRc = path.join(work, 'user-npmrc')
    const globalRc = path.join(work, 'global-npmrc')
    await writeFile(userRc, '')
    await writeFile(globalRc, '')
    env = isolatedEnv(home)
    npmArgs = ['--cache', path.join(work, 'cache'), '--userconfig', userRc, '--globalconfig', globalRc,
      '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund', '--no-update-notifier', '--ignore-scripts', '--loglevel', 'error']
    const pkg = path.join(work, 'tiny-pkg')
    await mkdir(pkg)
    await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: 'tiny-pkg', version: '1.0.0', main: 'index.js', license: 'MIT' }))
    await writeFile(path.join(pkg, 'index.js'), INDEX)
    const packed = (await npm(pkg, 'pack', '--pack-destination', work)).trim().split('\n').pop() as string
    assert.equal(packed, 'tiny-pkg-1.0.0.tgz')
    tarball = await readFile(path.join(work, packed))
    site = await startSite({ relativeUrl: 'npm' })
    await site.publish({ 'tiny-pkg/-/tiny-pkg-1.0.0.tgz': tarball })
  })
  after(async () => {
    await site?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('installs the package into a project and records the URL and the tarball\'s integrity', async () => {
    const project = path.join(work, 'project')
    await mkdir(project)
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'project', version: '0.0.0', private: true }))
    const url = `${site.url}/tiny-pkg/-/tiny-pkg-1.0.0.tgz`
    await npm(project, 'install', url)
    assert.equal(await readFile(path.join(project, 'node_modules', 'tiny-pkg', 'index.js'), 'utf8'), INDEX)
    const lock = JSON.parse(await readFile(path.join(project, 'package-lock.json'), 'utf8'))
    const entry = lock.packages['node_modules/tiny-pkg']
    assert.equal(entry.resolved, url)
    assert.equal(entry.integrity, `sha512-${createHash('sha512').update(tarball).digest('base64')}`)
    assert.equal(JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')).dependencies['tiny-pkg'], url)
    assert.ok(site.requests.some((r) => r.url === '/pulp/content/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz' && r.method === 'GET' && r.status === 200))
  })
})
