import { describe, expect, it } from 'vitest';
import { retryAfterOf } from './errors.js';
import { DEFAULT_RETRY, repeatable, retryDelayMs } from './retry.js';

describe('retry policy', () => {
  it('backs off exponentially, capped, never below half the step', () => {
    const low = (n: number) => retryDelayMs(DEFAULT_RETRY, n, null, () => 0);
    const high = (n: number) => retryDelayMs(DEFAULT_RETRY, n, null, () => 0.999_999);
    expect([1, 2, 3, 4].map(low)).toEqual([250, 500, 1000, 2000]);
    expect([1, 2, 3, 4].map((n) => Math.round(high(n)))).toEqual([500, 1000, 2000, 4000]);
    expect(retryDelayMs({ ...DEFAULT_RETRY, maxDelayMs: 3000 }, 10, null, () => 0.999_999)).toBeLessThanOrEqual(3000);
  });

  it('waits what retry-after says, plus up to 10% jitter', () => {
    expect(retryDelayMs(DEFAULT_RETRY, 1, 2, () => 0)).toBe(2000);
    expect(retryDelayMs(DEFAULT_RETRY, 1, 2, () => 0.999_999)).toBeLessThan(2200);
  });

  it('reads retry-after as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-30T06:00:00Z');
    expect(retryAfterOf(new Headers({ 'retry-after': '5' }), now)).toBe(5);
    expect(retryAfterOf(new Headers({ 'retry-after': 'Mon, 30 Nov 2026 06:00:07 GMT' }), now)).toBe(7);
    expect(retryAfterOf(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(retryAfterOf(new Headers(), now)).toBeNull();
  });

  it('repeats after a lost answer only what cannot act twice', () => {
    expect(repeatable('GET', false)).toBe(true);
    expect(repeatable('DELETE', false)).toBe(true);
    expect(repeatable('POST', false)).toBe(false);
    expect(repeatable('POST', true)).toBe(true);
  });
});
