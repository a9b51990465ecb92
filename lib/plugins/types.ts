/** Shapes shared by the plugin registry and the `plugins` option. */
import type { DistributorClass } from './distributor'
import type { JsonObject } from './config'

/** What remote and content types say about themselves. */
export interface TypeMetadata {
  id: string
  displayName: string
}

/** A remote or content type class: any class with a static `metadata()`. */
export type TypeClass = (abstract new (...args: never[]) => object) & { metadata: () => TypeMetadata }

export interface DistributorOptions {
  /** The lowest config layer, under the stored config and the override of a call. */
  defaultConfig?: JsonObject
}

export interface DistributorRegistration extends DistributorOptions {
  type: DistributorClass
}

export interface PluginBundle {
  distributors?: Array<DistributorClass | DistributorRegistration>
  remoteTypes?: TypeClass[]
  contentTypes?: TypeClass[]
}
