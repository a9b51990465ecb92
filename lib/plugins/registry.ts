import createDebug from 'debug'
import { Distributor, type DistributorClass, type DistributorMetadata } from './distributor'
import { assertJson, type JsonObject } from './config'
import type { DistributorOptions, DistributorRegistration, PluginBundle, TypeClass, TypeMetadata } from './types'

const debug = createDebug('pulp:plugins:registry')

const TYPE_ID = /^[A-Za-z0-9_.-]{1,64}$/

/** A registered distributor type. */
export interface DistributorType {
  readonly id: string
  readonly displayName: string
  readonly types: readonly string[]
  readonly Class: DistributorClass
  readonly defaultConfig: Readonly<JsonObject>
  /** False for a type with neither `publishRepo` nor `cancelPublishRepo`. */
  readonly publishes: boolean
  /** A fresh instance: every operation gets its own. */
  create: () => Distributor
}

/** A registered remote or content type. */
export interface RegisteredType<C extends TypeClass = TypeClass> {
  readonly id: string
  readonly displayName: string
  readonly Class: C
}

function nameOf (Class: unknown): string {
  return typeof Class === 'function' && Class.name !== '' ? Class.name : '<anonymous class>'
}

function metadataOf (Class: object, method: string, kind: string): Record<string, unknown> {
  const fail = (reason: string): never => { throw new TypeError(`${method}(${nameOf(Class)}): ${reason}`) }
  // Own, not inherited: a subclass that forgot metadata() would otherwise take its parent's id.
  if (!Object.hasOwn(Class, 'metadata') || typeof (Class as { metadata?: unknown }).metadata !== 'function') {
    fail(`a ${kind} needs a static metadata() of its own`)
  }
  let metadata: unknown
  try {
    metadata = (Class as { metadata: () => unknown }).metadata()
  } catch (err: unknown) {
    fail(`metadata() threw: ${(err as Error)?.message ?? String(err)}`)
  }
  if (metadata === null || typeof metadata !== 'object') fail('metadata() must return an object { id, displayName, ... }')
  const m = metadata as Record<string, unknown>
  if (typeof m.id !== 'string' || !TYPE_ID.test(m.id)) {
    fail(`metadata().id must be 1 to 64 letters, digits, "-", "_" or "." (got ${JSON.stringify(m.id)})`)
  }
  if (typeof m.displayName !== 'string' || m.displayName.trim() === '') fail('metadata().displayName must be a non-empty string')
  return m
}

function checkClass (Class: unknown, method: string): asserts Class is abstract new (...args: never[]) => object {
  if (typeof Class !== 'function' || Class.prototype === undefined) {
    throw new TypeError(`${method}: expected a class, got ${Class === null ? 'null' : typeof Class}`)
  }
}

/**
 * The plugin types one middleware instance knows: distributors, remote types and content
 * types. Each instance has its own registry; registration checks a class's contract at once,
 * so a broken plugin fails at start-up rather than at its first publish.
 */
export class PluginRegistry {
  readonly #distributors = new Map<string, DistributorType>()
  readonly #remoteTypes = new Map<string, RegisteredType>()
  readonly #contentTypes = new Map<string, RegisteredType>()

  /** Registers every type of a bundle (the shape of the `plugins` option's elements). */
  register (bundle: PluginBundle): this {
    if (bundle === null || typeof bundle !== 'object') throw new TypeError('register: expected { distributors?, remoteTypes?, contentTypes? }')
    for (const entry of bundle.distributors ?? []) {
      if (typeof entry === 'function') this.registerDistributor(entry)
      else {
        const registration = entry as DistributorRegistration
        this.registerDistributor(registration?.type, { defaultConfig: registration?.defaultConfig })
      }
    }
    for (const Class of bundle.remoteTypes ?? []) this.registerRemoteType(Class)
    for (const Class of bundle.contentTypes ?? []) this.registerContentType(Class)
    return this
  }

  /**
   * Registers a distributor type. Throws a TypeError naming the class and the reason when the
   * class has no static `metadata()` of its own (with `id`, `displayName` and non-empty
   * `types`), no `validateConfig`, only one of `publishRepo` / `cancelPublishRepo`, or an id
   * already taken.
   */
  registerDistributor (Class: DistributorClass, options: DistributorOptions = {}): this {
    const method = 'registerDistributor'
    checkClass(Class, method)
    const fail = (reason: string): never => { throw new TypeError(`${method}(${nameOf(Class)}): ${reason}`) }
    if (!(Class.prototype instanceof Distributor)) fail('a distributor must extend Distributor (import { Distributor } from \'pulp-middleware\')')
    const m = metadataOf(Class, method, 'distributor')
    if (!Array.isArray(m.types) || m.types.length === 0 || !m.types.every((t) => typeof t === 'string' && t !== '')) {
      fail('metadata().types must be a non-empty array of content type ids')
    }
    const proto = Class.prototype as Partial<Record<'validateConfig' | 'publishRepo' | 'cancelPublishRepo', unknown>>
    if (typeof proto.validateConfig !== 'function') fail('a distributor needs a validateConfig(repo, config, conduit) method')
    const publishes = typeof proto.publishRepo === 'function'
    const cancels = typeof proto.cancelPublishRepo === 'function'
    if (publishes !== cancels) {
      fail(publishes
        ? 'it has publishRepo but no cancelPublishRepo: a distributor that publishes must be able to cancel'
        : 'it has cancelPublishRepo but no publishRepo: define both, or neither for a type that publishes nothing')
    }
    if (Class.defaultRelativeUrl !== undefined && typeof Class.defaultRelativeUrl !== 'function') fail('a static defaultRelativeUrl must be a function (repo) => string')
    if (options === null || typeof options !== 'object') fail('options must be an object { defaultConfig? }')
    const defaultConfig = options.defaultConfig ?? {}
    if (defaultConfig === null || typeof defaultConfig !== 'object' || Array.isArray(defaultConfig)) fail('defaultConfig must be a JSON object')
    try {
      assertJson(defaultConfig, 'defaultConfig')
    } catch (err: unknown) {
      fail((err as Error).message)
    }
    const metadata = m as unknown as DistributorMetadata
    const taken = this.#distributors.get(metadata.id)
    if (taken !== undefined) fail(`distributor type id "${metadata.id}" is already registered (by ${nameOf(taken.Class)})`)

    const frozenDefaults = Object.freeze(structuredClone(defaultConfig))
    this.#distributors.set(metadata.id, Object.freeze({
      id: metadata.id,
      displayName: metadata.displayName,
      types: Object.freeze([...metadata.types]),
      Class,
      defaultConfig: frozenDefaults,
      publishes,
      create: () => new Class()
    }))
    debug('registered distributor %s (%s)', metadata.id, nameOf(Class))
    return this
  }

  /** Registers a remote type: a class with a static `metadata()` of its own (`id`, `displayName`). */
  registerRemoteType (Class: TypeClass): this {
    this.#registerType(this.#remoteTypes, Class, 'registerRemoteType', 'remote type')
    return this
  }

  /** Registers a content type: a class with a static `metadata()` of its own (`id`, `displayName`). */
  registerContentType (Class: TypeClass): this {
    this.#registerType(this.#contentTypes, Class, 'registerContentType', 'content type')
    return this
  }

  #registerType (map: Map<string, RegisteredType>, Class: TypeClass, method: string, kind: string): void {
    checkClass(Class, method)
    const m = metadataOf(Class, method, kind) as unknown as TypeMetadata
    const taken = map.get(m.id)
    if (taken !== undefined) throw new TypeError(`${method}(${nameOf(Class)}): ${kind} id "${m.id}" is already registered (by ${nameOf(taken.Class)})`)
    map.set(m.id, Object.freeze({ id: m.id, displayName: m.displayName, Class }))
    debug('registered %s %s (%s)', kind, m.id, nameOf(Class))
  }

  distributorType (id: string): DistributorType | undefined { return this.#distributors.get(id) }
  remoteType (id: string): RegisteredType | undefined { return this.#remoteTypes.get(id) }
  contentType (id: string): RegisteredType | undefined { return this.#contentTypes.get(id) }

  distributorTypes (): DistributorType[] { return [...this.#distributors.values()] }
  remoteTypes (): RegisteredType[] { return [...this.#remoteTypes.values()] }
  contentTypes (): RegisteredType[] { return [...this.#contentTypes.values()] }
}
