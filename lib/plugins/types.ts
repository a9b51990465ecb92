/** Shapes shared by the plugin registry and the `plugins` option. */

/** Any class; the registry checks each kind's contract when it is registered. */
export type PluginClass = abstract new (...args: never[]) => object

export interface DistributorRegistration {
  type: PluginClass
  defaultConfig?: Record<string, unknown>
}

export interface PluginBundle {
  distributors?: Array<PluginClass | DistributorRegistration>
  remoteTypes?: PluginClass[]
  contentTypes?: PluginClass[]
}
