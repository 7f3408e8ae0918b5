import { performance } from 'node:perf_hooks';
import { HeraldError } from '@herald/protocol';
import { createTokenBucket, type TokenBucket } from '../rate/token-bucket.js';

/**
 * Requests per second per API key (`--rate-limit`), as a token bucket (rate/token-bucket.ts): a key
 * may burst up to one second's worth of requests, then gets `perSecond` a second. Over the limit:
 * 429 with retry-after.
 *
 * The bucket runs on the monotonic clock, not the config clock: it measures how fast requests
 * really arrive, and a test that freezes the config clock must not starve every key.
 * The buckets live in this process: N API processes allow N times the rate.
 */
export interface RateLimiter {
  /** Takes one token for `keyId`, or throws 429 RATE_LIMIT_EXCEEDED. */
  take(keyId: string): void;
}

/**
 * Buckets kept at most. Keys are few (one bucket each, ~100 bytes); dropping all at this count keeps
 * memory bounded anyway (a chosen bound: the keys dropped start again with a full bucket).
 */
const MAX_BUCKETS = 100_000;

export function createRateLimiter(perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  const buckets = new Map<string, TokenBucket>();
  // One second's worth; at least one token, or a key could never make a request.
  const burst = Math.max(1, perSecond);
  return {
    take(keyId) {
      let bucket = buckets.get(keyId);
      if (!bucket) {
        if (buckets.size >= MAX_BUCKETS) buckets.clear();
        bucket = createTokenBucket({ perSecond, burst, now });
        buckets.set(keyId, bucket);
      }
      const waitS = bucket.take();
      if (waitS === 0) return;
      // retry-after is in whole seconds (RFC 9110), never 0: "now" would invite a busy loop.
      throw new HeraldError('RATE_LIMIT_EXCEEDED', `Too many requests: ${perSecond} per second allowed for this key.`, {
        retryAfterSeconds: Math.max(1, Math.ceil(waitS)),
      });
    },
  };
}
