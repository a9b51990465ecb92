export { pulpMiddleware } from './middleware'
export type { PulpMiddleware } from './middleware'
export type { PulpOptions, RunnerOptions, AuthorizeFn, AccelOptions, AccelHeader } from './options'
export {
  PulpError, ValidationError, InvalidConfigError, NotFoundError, ConflictError, PayloadTooLargeError,
  UnsupportedMediaTypeError, UnauthorizedError, ForbiddenError, UpstreamError, UpstreamTimeoutError,
  LoopDetectedError, ClosedError, UpstreamDownError, DigestMismatchError, TaskTimeoutError, TaskInterruptedError,
  InvalidOptionError, ERROR_CODES
} from './errors'
export type { Repository, RepositoryFields } from './storage/repositories'
export type { Unit, RepositoryUnit } from './storage/units'
export type { CreateRepositoryInput, UpdateRepositoryInput, AddContentInput, ListContentQuery } from './core/repositories'
export type { PluginBundle, DistributorRegistration, DistributorOptions, TypeClass, TypeMetadata } from './plugins/types'
export { Distributor } from './plugins/distributor'
export type {
  DistributorClass, DistributorMetadata, ValidationResult, PublishReport, PublishUnit, UnitCriteria, RelativeUrlClaim,
  ServeProtocols, ConfigConduit, PublishConduit
} from './plugins/distributor'
export { PluginConfig } from './plugins/config'
export type { JsonObject } from './plugins/config'
export { PluginRegistry } from './plugins/registry'
export type { DistributorType, RegisteredType } from './plugins/registry'
export { WebDistributor } from './plugins/web-distributor'
export type { RepoDistributor } from './storage/distributors'
export type { Task, TaskState, TaskError } from './storage/tasks'
export type { PublishHistoryEntry, PublishResult } from './storage/history'
export type { Consumer, ConsumerFields, Binding } from './storage/consumers'
export type { AddDistributorInput, UpdateDistributorInput, DistributorsApi } from './core/distributors'
export type { PublishOptions } from './core/publish'
export type { ListTasksInput, WaitOptions } from './core/tasks'
export type { CreateConsumerInput, BindInput, BindingWithDetails } from './core/consumers'
export { Remote, FileRemote } from './plugins/remote'
export { DebRemote } from './plugins/deb/remote'
export { PythonRemote } from './plugins/python/remote'
export { NpmRemote } from './plugins/npm/remote'
export type {
  RemoteSettings, RemotePolicy, RemoteTypeClass, Freshness, UpstreamTarget, UpstreamDigest, UpstreamContext,
  RemoteBinding, RewriteContext, RewrittenMetadata
} from './plugins/remote'
export { Content, FileContent } from './plugins/content'
export type { Artifact, ContentFields, ContentInit, ContentTypeClass } from './plugins/content'
export type { RemoteRecord, CreateRemoteInput, UpdateRemoteInput } from './core/remotes'
export type { RemoteHealth } from './storage/remote-health'
export type { Distribution } from './storage/distributions'
export type { CreateDistributionInput, UpdateDistributionInput } from './core/distributions'
export type { Status } from './services'
