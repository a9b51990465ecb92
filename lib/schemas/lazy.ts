import type * as All from './all'

/**
 * The zod schemas, loaded when something is first validated rather than when the package is
 * imported. zod and our schemas add about 100 modules, 7 MB of RSS at rest and 4 MB of heap;
 * a server that only serves content (or pulls it through, or takes uploads) never validates a
 * request body, and with them loaded its peak RSS while streaming 1 GiB (bench measure 7) was
 * 10 to 15 MB higher. Node's module cache keeps what the first call loads.
 */
export function schemas (): typeof All {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use (see above)
  return require('./all') as typeof All
}
