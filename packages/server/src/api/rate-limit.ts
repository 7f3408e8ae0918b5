import { performance } from 'node:perf_hooks';
import { HeraldError } from '@herald/protocol';

/**
 * Requests per second per API key (`--rate-limit`), as a token bucket: a key may burst up to one
 * second's worth of requests, then gets `perSecond` a second. Over the limit: 429 with retry-after.
 *
 * The bucket runs on the monotonic clock, not the config clock: it measures how fast requests
 * really arrive, and a test that freezes the config clock must not starve every key.
 * The buckets live in this process: N API processes allow N times the rate.
 */
export interface RateLimiter {
  /** Takes one token for `keyId`, or throws 429 RATE_LIMIT_EXCEEDED. */
  take(keyId: string): void;
}

export function createRateLimiter(perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const capacity = Math.max(1, perSecond);
  return {
    take(keyId) {
      const t = now();
      let bucket = buckets.get(keyId);
      if (!bucket) {
        // Keys are few (one bucket each, ~100 bytes); dropping all at 100k keeps a bound anyway.
        if (buckets.size >= 100_000) buckets.clear();
        bucket = { tokens: capacity, at: t };
        buckets.set(keyId, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
      bucket.at = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return;
      }
      const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
      throw new HeraldError('RATE_LIMIT_EXCEEDED', `Too many requests: ${perSecond} per second allowed for this key.`, {
        retryAfterSeconds: waitSeconds,
      });
    },
  };
}
