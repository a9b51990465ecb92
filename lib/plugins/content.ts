import type { TypeMetadata } from './types'

/** An artifact as content types see it: its digest, size and file in the store. */
export interface Artifact {
  readonly sha256: string
  readonly size: number
  /** Absolute path of the artifact file under `artifacts/`. */
  readonly path: string
}

/** The fields of a unit that its content type fills in. */
export interface ContentFields {
  relativePath: string
  sha256: string
  size: number
}

/**
 * What `initFromArtifactAndRelativePath` returns: an unsaved unit, or a unit with the
 * artifacts of each of its relative paths (`null` for one not downloaded).
 */
export type ContentInit<T extends Content = Content> = T | [T, Record<string, Artifact | null>]

/** A content type as the registry holds it and remotes name it. */
export interface ContentTypeClass<T extends Content = Content> {
  new (fields: ContentFields): T
  metadata: () => TypeMetadata
  initFromArtifactAndRelativePath: (artifact: Artifact, relativePath: string) => ContentInit
}

/**
 * A content unit: a file at a relative path, backed by one artifact. Subclasses give a static
 * `metadata()` (`id`, `displayName`) of their own and may override
 * `initFromArtifactAndRelativePath` to derive the unit (or a multi-artifact unit) from a
 * downloaded file.
 *
 * @example
 * class IsoContent extends Content {
 *   static metadata () { return { id: 'iso', displayName: 'ISO image' } }
 * }
 * pulp.registry.registerContentType(IsoContent)
 */
export class Content {
  readonly relativePath: string
  readonly sha256: string
  readonly size: number

  constructor (fields: ContentFields) {
    this.relativePath = fields.relativePath
    this.sha256 = fields.sha256
    this.size = fields.size
  }

  /** The id of this unit's content type, from its class's `metadata()`. */
  get typeId (): string {
    return (this.constructor as ContentTypeClass).metadata().id
  }

  /**
   * Builds the (unsaved) unit for a file a remote served at `relativePath`. The default is a
   * unit of this class at that path, backed by `artifact`.
   */
  static initFromArtifactAndRelativePath (
    this: new (fields: ContentFields) => Content,
    artifact: Artifact,
    relativePath: string
  ): ContentInit {
    if (typeof relativePath !== 'string' || relativePath.startsWith('/')) {
      throw new RangeError(`initFromArtifactAndRelativePath: relativePath must be relative, got ${JSON.stringify(relativePath)}`)
    }
    return new this({ relativePath, sha256: artifact.sha256, size: artifact.size })
  }
}

/** The built-in `file` content type: any file at a relative path. */
export class FileContent extends Content {
  static metadata (): TypeMetadata {
    return { id: 'file', displayName: 'File' }
  }
}
