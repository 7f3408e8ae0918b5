/**
 * `@herald/protocol/api`: the REST API's contract, as TypeBox schemas. The server validates every
 * request and response with these and generates its OpenAPI document from them; @herald/client
 * takes its types from them (type imports only, erased at build). A subpath of its own, so that
 * `@herald/protocol` itself (what a receiver loads to verify webhooks) never loads TypeBox.
 */
export * from './requests.js';
export * from './responses.js';
export type * from './types.js';
