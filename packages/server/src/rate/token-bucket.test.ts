import { manualClock } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './token-bucket.js';

describe('the token bucket', () => {
  it('starts full with its burst, then refills at its rate up to the burst', () => {
    const clock = manualClock();
    const bucket = createTokenBucket({ perSecond: 4, burst: 4, now: clock.now });
    for (let i = 0; i < 4; i++) expect(bucket.take()).toBe(0);
    // Empty: one token comes in a quarter of a second.
    expect(bucket.take()).toBeCloseTo(0.25);
    clock.advance(125);
    expect(bucket.take()).toBeCloseTo(0.125);
    clock.advance(125);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBeCloseTo(0.25);
    // A long quiet time fills it to the burst, not beyond.
    clock.advance(60_000);
    for (let i = 0; i < 4; i++) expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBeGreaterThan(0);
  });

  it('keeps burst and rate apart', () => {
    const clock = manualClock();
    const bucket = createTokenBucket({ perSecond: 2, burst: 1, now: clock.now });
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBeCloseTo(0.5);
    clock.advance(10_000);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBeCloseTo(0.5);
  });
});
