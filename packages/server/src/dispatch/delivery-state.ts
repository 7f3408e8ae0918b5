import { nextAttemptAt, type RetryPolicy } from '@herald/protocol';
import type { Config } from '../config.js';
import type { AttemptError, DeliveryRecord, DeliveryStatus } from '../store/types.js';

/**
 * The delivery state machine, in one pure function: what a delivery becomes after one attempt.
 *
 *   pending ──2xx──▶ succeeded
 *   pending ──fails──▶ pending, next attempt on the schedule (protocol's nextAttemptAt)
 *   pending ──fails at or past created_at + max age──▶ failed (kept, listed, retried only by hand)
 *
 * A manual attempt (a person pressed retry) never moves the automatic schedule: it can only turn
 * a delivery `succeeded`; when it fails, status and next_attempt_at stay as they were.
 */

/** What one attempt came to, as far as the state machine cares. */
export interface AttemptResult {
  /** null when the request got a 2xx answer within the timeout. */
  error: AttemptError | null;
  responseStatus: number | null;
  /** The endpoint's `retry-after`, ms from the attempt; only heeded with 429 and 503. */
  retryAfterMs?: number | undefined;
}

export interface DeliveryStateInput {
  delivery: Pick<DeliveryRecord, 'createdAt' | 'attemptCount' | 'status' | 'nextAttemptAt'>;
  result: AttemptResult;
  manual: boolean;
  /** When the attempt ended, ms. */
  now: number;
  random: () => number;
  policy: RetryPolicy;
}

export interface DeliveryState {
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  /** The endpoint answered 410 Gone: it asks not to be sent anything more, so it is disabled. */
  disableEndpoint: boolean;
}

/** Statuses whose `retry-after` the schedule honours. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

export function retryPolicyOf(config: Pick<Config, 'retryBaseMs' | 'retryMaxAgeMs'>): RetryPolicy {
  return { baseMs: config.retryBaseMs, maxAgeMs: config.retryMaxAgeMs, jitter: 0.1 };
}

export function nextDeliveryState(input: DeliveryStateInput): DeliveryState {
  const { delivery, result } = input;
  const disableEndpoint = result.responseStatus === 410;
  if (result.error === null) return { status: 'succeeded', nextAttemptAt: null, disableEndpoint };
  if (input.manual) {
    return { status: delivery.status, nextAttemptAt: delivery.nextAttemptAt, disableEndpoint };
  }
  const retryAfterMs =
    result.responseStatus !== null && RETRY_AFTER_STATUSES.has(result.responseStatus) ? result.retryAfterMs : undefined;
  const next = nextAttemptAt(
    {
      createdAt: delivery.createdAt,
      attemptNo: delivery.attemptCount + 1,
      now: input.now,
      random: input.random,
      retryAfterMs,
    },
    input.policy,
  );
  // A 410 still schedules a retry: the endpoint is disabled, so nothing is claimed for it, and
  // re-enabling it resumes every delivery still inside its window.
  return next === null
    ? { status: 'failed', nextAttemptAt: null, disableEndpoint }
    : { status: 'pending', nextAttemptAt: next, disableEndpoint };
}
