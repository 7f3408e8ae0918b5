/**
 * The delivery schedule as one pure function.
 *
 * Retry k is due `base × 2^(k−1)` after failed attempt k (30 s, 1 min, 2 min, 4 min, …), plus up to
 * `jitter` (10 %) of that interval at random. No retry is due later than `maxAge` after the delivery
 * was created: a retry that would fall past that deadline is moved to the deadline itself, so the
 * last automatic attempt happens at 24 h; after an attempt at or past the deadline, there is none.
 */

export interface RetryPolicy {
  /** The first interval, ms. Default 30 s. */
  baseMs: number;
  /** How long after its creation a delivery is still retried automatically, ms. Default 24 h. */
  maxAgeMs: number;
  /** The largest random addition, as a fraction of the interval. Default 0.1. */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 30_000, maxAgeMs: 24 * 3_600_000, jitter: 0.1 };

export interface RetryInput {
  /** When the delivery was created, ms. */
  createdAt: number;
  /** The number of the attempt that just failed: 1 for the first. */
  attemptNo: number;
  /** When that attempt failed, ms. */
  now: number;
  /** A number in [0, 1). */
  random: () => number;
  /**
   * A `retry-after` the endpoint sent with 429 or 503, ms. It can delay a retry, up to twice the interval,
   * but never bring one earlier: a `retry-after: 0` would otherwise turn the schedule into a tight loop.
   */
  retryAfterMs?: number | undefined;
}

/** The interval before retry `attemptNo` (without jitter), ms. */
export function retryInterval(attemptNo: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  return policy.baseMs * 2 ** (attemptNo - 1);
}

/** When the next automatic attempt is due (ms), or null when the delivery has failed for good. */
export function nextAttemptAt(input: RetryInput, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number | null {
  const deadline = input.createdAt + policy.maxAgeMs;
  if (input.now >= deadline) return null;
  // Past about attempt 1,000 the interval overflows to Infinity, and Infinity × a random 0 is NaN; an interval
  // longer than maxAge lands on the deadline anyway.
  const interval = Math.min(retryInterval(input.attemptNo, policy), policy.maxAgeMs);
  let delay = interval + Math.floor(interval * policy.jitter * input.random());
  if (input.retryAfterMs !== undefined && input.retryAfterMs >= 0) {
    delay = Math.max(delay, Math.min(input.retryAfterMs, 2 * interval));
  }
  return Math.min(input.now + delay, deadline);
}

/** Parses a `retry-after` header (seconds or an HTTP date) to ms from `now`; undefined if absent or bad. */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
