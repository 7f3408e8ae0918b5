/**
 * @herald/client: one typed client for Herald's /v1 API. fetch only, no Node built-ins: it runs on
 * Node 20+ and in browsers. Its types come from @herald/protocol/api (the
 * schemas the server validates with) and are erased at build.
 */
export * from './client.js';
export { HeraldError, type TransportErrorCode } from './errors.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export type { CallOptions, RetryInfo, TransportOptions } from './transport.js';
