export * from './canonical-json.js';
export * from './clock.js';
export * from './duration.js';
export * from './envelope.js';
export * from './errors.js';
export * from './ids.js';
export * from './owner-id.js';
export * from './retry.js';
export * from './signature.js';

/** Sent as `user-agent: Herald/<version>`. */
export const HERALD_VERSION = '0.1.0';
