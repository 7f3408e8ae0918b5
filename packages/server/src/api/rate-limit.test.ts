import { HeraldError } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.js';

describe('the per-key rate limit', () => {
  it('lets a key burst one second of requests, then refills at the rate, and says when to come back', () => {
    let now = 0;
    const limiter = createRateLimiter(10, () => now);
    for (let i = 0; i < 10; i++) limiter.take('key_a');
    let refused: unknown;
    try {
      limiter.take('key_a');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HeraldError);
    expect((refused as HeraldError).code).toBe('RATE_LIMIT_EXCEEDED');
    expect((refused as HeraldError).details.retryAfterSeconds).toBe(1);
    // Another key has its own bucket.
    expect(() => limiter.take('key_b')).not.toThrow();
    // A tenth of a second later, one more token.
    now += 100;
    expect(() => limiter.take('key_a')).not.toThrow();
    expect(() => limiter.take('key_a')).toThrow(HeraldError);
  });
});
