/** Every schema module, for lazy.ts to load in one go. */
export * as consumers from './consumers'
export * as distributions from './distributions'
export * as distributors from './distributors'
export * as fields from './fields'
export * as page from './page'
export * as remotes from './remotes'
export * as repositories from './repositories'
export * as tasks from './tasks'
