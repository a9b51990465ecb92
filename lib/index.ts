export { pulpMiddleware } from './middleware'
export type { PulpMiddleware } from './middleware'
export type { PulpOptions, RunnerOptions, AuthorizeFn } from './options'
export {
  PulpError, ValidationError, InvalidConfigError, NotFoundError, ConflictError, PayloadTooLargeError,
  UnsupportedMediaTypeError, UnauthorizedError, ForbiddenError, UpstreamError, UpstreamTimeoutError,
  LoopDetectedError, ClosedError
} from './errors'
export type { Repository, RepositoryFields } from './storage/repositories'
export type { Unit, RepositoryUnit } from './storage/units'
export type { CreateRepositoryInput, AddContentInput } from './core/repositories'
export type { PluginBundle, DistributorRegistration } from './plugins/types'
export type { Status } from './services'
