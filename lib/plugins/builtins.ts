import type { PluginBundle } from './types'
import { PluginRegistry } from './registry'
import { WEB_DEFAULT_CONFIG, WebDistributor } from './web-distributor'
import { FileRemote } from './remote'
import { FileContent } from './content'
import { DebRemote } from './deb/remote'
import { PythonRemote } from './python/remote'
import { NpmRemote } from './npm/remote'

/** The types every instance has before the `plugins` option's: registered first, so their ids stay ours. */
export function registerBuiltins (registry: PluginRegistry): void {
  registry.registerDistributor(WebDistributor, { defaultConfig: { ...WEB_DEFAULT_CONFIG } })
  registry.registerRemoteType(FileRemote)
  registry.registerRemoteType(DebRemote)
  registry.registerRemoteType(PythonRemote)
  registry.registerRemoteType(NpmRemote)
  registry.registerContentType(FileContent)
}

/**
 * A registry with the built-in types and the `plugins` option's bundles. A broken plugin is a
 * bad option: the TypeError names the option element and the registry's reason.
 */
export function createRegistry (bundles: readonly PluginBundle[]): PluginRegistry {
  const registry = new PluginRegistry()
  registerBuiltins(registry)
  bundles.forEach((bundle, i) => {
    try {
      registry.register(bundle)
    } catch (err: unknown) {
      if (err instanceof TypeError) throw new TypeError(`pulpMiddleware: option "plugins[${i}]": ${err.message}`, { cause: err })
      throw err
    }
  })
  return registry
}
