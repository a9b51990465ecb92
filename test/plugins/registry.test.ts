import path from 'node:path'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Distributor, PluginRegistry, WebDistributor, pulpMiddleware, type DistributorClass } from '../../lib'
import { createPgDatabase, dialects } from '../support/databases'
import { scriptedDistributor } from '../support/publish-distributors'
import { tempDir } from '../support/pulp'

const valid = { valid: true }

/** Registers `Class` and returns the TypeError message, or fails if registration passed. */
function refusal (Class: unknown, options?: unknown): string {
  const registry = new PluginRegistry()
  try {
    registry.registerDistributor(Class as DistributorClass, options as never)
  } catch (err: unknown) {
    assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`)
    return err.message
  }
  assert.fail('registration passed')
}

describe('PluginRegistry.registerDistributor', () => {
  it('registers a distributor with its metadata and default config', () => {
    const { Class } = scriptedDistributor({ id: 'export' })
    const registry = new PluginRegistry().registerDistributor(Class, { defaultConfig: { a: 1 } })
    const type = registry.distributorType('export')
    assert.equal(type?.displayName, 'Scripted export')
    assert.deepEqual(type?.types, ['file'])
    assert.deepEqual(type?.defaultConfig, { a: 1 })
    assert.equal(type?.publishes, true)
    assert.deepEqual(registry.distributorTypes().map((t) => t.id), ['export'])
  })

  it('gives a fresh instance for every create()', () => {
    const { Class, probe } = scriptedDistributor()
    const type = new PluginRegistry().registerDistributor(Class).distributorType('scripted')
    assert.notEqual(type?.create(), type?.create())
    assert.equal(probe.instances.length, 2)
  })

  it('refuses a class without a static metadata() of its own, naming the class', () => {
    class NoMetadata extends Distributor { validateConfig () { return valid } }
    assert.match(refusal(NoMetadata), /NoMetadata.*static metadata\(\) of its own/)
  })

  it('refuses a subclass that only inherits metadata()', () => {
    class Inherits extends WebDistributor {}
    assert.match(refusal(Inherits), /Inherits.*static metadata\(\) of its own/)
  })

  for (const [what, metadata, pattern] of [
    ['no id', { displayName: 'X', types: ['file'] }, /metadata\(\)\.id/],
    ['an id with a slash', { id: 'a/b', displayName: 'X', types: ['file'] }, /metadata\(\)\.id/],
    ['no displayName', { id: 'x', types: ['file'] }, /displayName/],
    ['no types', { id: 'x', displayName: 'X' }, /types must be a non-empty array/],
    ['empty types', { id: 'x', displayName: 'X', types: [] }, /types must be a non-empty array/]
  ] as const) {
    it(`refuses metadata with ${what}`, () => {
      class Bad extends Distributor {
        static metadata (): unknown { return metadata }
        validateConfig () { return valid }
      }
      const message = refusal(Bad)
      assert.match(message, /registerDistributor\(Bad\)/)
      assert.match(message, pattern)
    })
  }

  it('refuses a metadata() that throws', () => {
    class Throws extends Distributor {
      static metadata (): never { throw new Error('boom') }
      validateConfig () { return valid }
    }
    assert.match(refusal(Throws), /Throws.*metadata\(\) threw: boom/)
  })

  it('refuses a class without validateConfig', () => {
    class NoValidate {
      static metadata () { return { id: 'x', displayName: 'X', types: ['file'] } }
    }
    Object.setPrototypeOf(NoValidate.prototype, Distributor.prototype)
    assert.match(refusal(NoValidate), /NoValidate.*needs a validateConfig/)
  })

  it('refuses a defaultRelativeUrl that is not a function', () => {
    class Fixed extends Distributor {
      static metadata () { return { id: 'x', displayName: 'X', types: ['file'] } }
      static defaultRelativeUrl = 'fixed'
      validateConfig () { return valid }
    }
    assert.match(refusal(Fixed), /Fixed.*defaultRelativeUrl must be a function/)
  })

  it('refuses publishRepo without cancelPublishRepo', () => {
    class PublishOnly extends Distributor {
      static metadata () { return { id: 'x', displayName: 'X', types: ['file'] } }
      validateConfig () { return valid }
      override async publishRepo (): Promise<never> { throw new Error('unused') }
    }
    assert.match(refusal(PublishOnly), /PublishOnly.*publishRepo but no cancelPublishRepo/)
  })

  it('refuses cancelPublishRepo without publishRepo', () => {
    class CancelOnly extends Distributor {
      static metadata () { return { id: 'x', displayName: 'X', types: ['file'] } }
      validateConfig () { return valid }
      override async cancelPublishRepo (): Promise<void> {}
    }
    assert.match(refusal(CancelOnly), /CancelOnly.*cancelPublishRepo but no publishRepo/)
  })

  it('accepts a type with neither, which publishes nothing', () => {
    class Neither extends Distributor {
      static metadata () { return { id: 'neither', displayName: 'N', types: ['file'] } }
      validateConfig () { return valid }
    }
    assert.equal(new PluginRegistry().registerDistributor(Neither).distributorType('neither')?.publishes, false)
  })

  it('refuses a duplicate id, naming both classes', () => {
    const registry = new PluginRegistry().registerDistributor(scriptedDistributor({ id: 'dup' }).Class)
    class Second extends Distributor {
      static metadata () { return { id: 'dup', displayName: 'D', types: ['file'] } }
      validateConfig () { return valid }
    }
    assert.throws(() => registry.registerDistributor(Second), (err: unknown) =>
      err instanceof TypeError && /Second.*"dup" is already registered \(by Scripted\)/.test(err.message))
  })

  it('refuses a class that does not extend Distributor, and a non-class', () => {
    class Plain {
      static metadata () { return { id: 'x', displayName: 'X', types: ['file'] } }
      validateConfig () { return valid }
    }
    assert.match(refusal(Plain), /Plain.*must extend Distributor/)
    assert.match(refusal(null), /expected a class, got null/)
  })

  it('refuses a defaultConfig that is not plain JSON', () => {
    const { Class } = scriptedDistributor()
    assert.match(refusal(Class, { defaultConfig: [] }), /defaultConfig must be a JSON object/)
    assert.match(refusal(Class, { defaultConfig: { when: new Date() } }), /when is a Date/)
  })
})

describe('PluginRegistry remote and content types', () => {
  it('registers classes with a static metadata() and looks them up', () => {
    class Iso { static metadata () { return { id: 'iso', displayName: 'ISO image' } } }
    class Mirror { static metadata () { return { id: 'mirror', displayName: 'Mirror' } } }
    const registry = new PluginRegistry().registerContentType(Iso).registerRemoteType(Mirror)
    assert.equal(registry.contentType('iso')?.Class, Iso)
    assert.equal(registry.remoteType('mirror')?.displayName, 'Mirror')
    assert.deepEqual(registry.contentTypes().map((t) => t.id), ['iso'])
    assert.deepEqual(registry.remoteTypes().map((t) => t.id), ['mirror'])
  })

  it('refuses a missing metadata() or a duplicate id', () => {
    class NoMeta {}
    class A { static metadata () { return { id: 'a', displayName: 'A' } } }
    class B { static metadata () { return { id: 'a', displayName: 'B' } } }
    const registry = new PluginRegistry()
    assert.throws(() => registry.registerRemoteType(NoMeta as never), /registerRemoteType\(NoMeta\).*static metadata\(\)/)
    registry.registerContentType(A)
    assert.throws(() => registry.registerContentType(B), /registerContentType\(B\).*"a" is already registered \(by A\)/)
    registry.registerRemoteType(B)
  })
})

for (const d of dialects()) {
  describe(`the plugins option and pulp.registry (${d.name})`, { skip: d.skip }, () => {
    // Refusals come before any connection: a server nobody listens on shows it for PostgreSQL.
    const unreachable = d.name === 'postgresql' ? { client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/none' } : undefined
    it('registers the built-in web distributor and the bundles of the option', async () => {
      const { Class } = scriptedDistributor({ id: 'export' })
      const dataDir = await tempDir()
      const db = d.name === 'postgresql' ? await createPgDatabase() : undefined
      const plugins = [{ distributors: [{ type: Class, defaultConfig: { x: 1 } }] }]
      const pulp = pulpMiddleware({ dataDir, database: db?.config, plugins })
      try {
        await pulp.ready
        assert.equal(pulp.registry.distributorType('web')?.Class, WebDistributor)
        assert.deepEqual(pulp.registry.distributorType('web')?.defaultConfig, { http: true, https: false, manifest: true })
        assert.deepEqual(pulp.registry.distributorType('export')?.defaultConfig, { x: 1 })
        const { Class: Later } = scriptedDistributor({ id: 'later' })
        pulp.registry.register({ distributors: [Later] })
        assert.ok(pulp.registry.distributorType('later'))
        assert.equal((await pulp.status()).database.dialect, d.name)
      } finally {
        await pulp.close()
        await db?.drop()
        await rm(dataDir, { recursive: true, force: true })
      }
    })

    it('throws at construction for a broken plugin', async () => {
      class Broken extends Distributor { validateConfig () { return valid } }
      const parent = await tempDir()
      const dataDir = path.join(parent, 'never-created')
      try {
        assert.throws(() => pulpMiddleware({ dataDir, database: unreachable, plugins: [{ distributors: [Broken as never] }] }),
          /option "plugins\[0\]": registerDistributor\(Broken\)/)
        assert.equal(existsSync(dataDir), false, 'nothing was written before the option was refused')
      } finally {
        await rm(parent, { recursive: true, force: true })
      }
    })

    it('refuses a plugin taking the built-in web id', async () => {
      const { Class } = scriptedDistributor({ id: 'web' })
      assert.throws(() => pulpMiddleware({ dataDir: './never-created', database: unreachable, plugins: [{ distributors: [Class] }] }), /"web" is already registered \(by WebDistributor\)/)
      assert.equal(existsSync('./never-created'), false)
    })
  })
}
