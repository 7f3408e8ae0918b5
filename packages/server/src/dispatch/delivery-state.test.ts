import { describe, expect, it } from 'vitest';
import { type AttemptResult, type DeliveryStateInput, nextDeliveryState, retryPolicyOf } from './delivery-state.js';

const t0 = Date.parse('2026-11-27T06:00:00.000Z');
const SECOND = 1000;
const HOUR = 3_600_000;
const policy = retryPolicyOf({ retryBaseMs: 30 * SECOND, retryMaxAgeMs: 24 * HOUR });

const ok: AttemptResult = { error: null, responseStatus: 200 };
const http500: AttemptResult = { error: 'http_status', responseStatus: 500 };

function input(overrides: Partial<DeliveryStateInput> & { attemptCount?: number } = {}): DeliveryStateInput {
  const { attemptCount = 0, ...rest } = overrides;
  return {
    delivery: { createdAt: t0, attemptCount, status: 'pending', nextAttemptAt: t0 },
    result: http500,
    manual: false,
    now: t0,
    random: () => 0,
    policy,
    ...rest,
  };
}

describe('the delivery state machine', () => {
  it('a 2xx answer makes the delivery succeeded, with nothing more due', () => {
    expect(nextDeliveryState(input({ result: ok }))).toEqual({
      status: 'succeeded',
      nextAttemptAt: null,
      disableEndpoint: false,
    });
  });

  it('a first failure schedules the retry 30 s later, the second 1 min after that, then 2 min, 4 min', () => {
    let now = t0;
    const due: number[] = [];
    for (let attemptCount = 0; attemptCount < 4; attemptCount++) {
      const state = nextDeliveryState(input({ attemptCount, now }));
      expect(state.status).toBe('pending');
      due.push((state.nextAttemptAt as number) - now);
      now = state.nextAttemptAt as number;
    }
    expect(due).toEqual([30 * SECOND, 60 * SECOND, 120 * SECOND, 240 * SECOND]);
  });

  it('adds at most 10 % jitter', () => {
    const state = nextDeliveryState(input({ random: () => 0.999 }));
    expect(state.nextAttemptAt).toBe(t0 + 30 * SECOND + Math.floor(3 * SECOND * 0.999));
    expect((state.nextAttemptAt as number) - t0).toBeLessThanOrEqual(33 * SECOND);
  });

  it('every kind of failure retries: timeout, refused, reset, dns, tls, blocked', () => {
    for (const error of ['timeout', 'refused', 'reset', 'dns', 'tls', 'blocked'] as const) {
      const state = nextDeliveryState(input({ result: { error, responseStatus: null } }));
      expect(state).toEqual({ status: 'pending', nextAttemptAt: t0 + 30 * SECOND, disableEndpoint: false });
    }
  });

  it('the last retry lands on the 24 h deadline, and a failure there makes the delivery failed', () => {
    const late = nextDeliveryState(input({ attemptCount: 11, now: t0 + 23 * HOUR }));
    expect(late).toMatchObject({ status: 'pending', nextAttemptAt: t0 + 24 * HOUR });
    const atDeadline = nextDeliveryState(input({ attemptCount: 12, now: t0 + 24 * HOUR }));
    expect(atDeadline).toEqual({ status: 'failed', nextAttemptAt: null, disableEndpoint: false });
  });

  it('honours retry-after on 429 and 503, capped at twice the interval', () => {
    for (const responseStatus of [429, 503]) {
      const within = nextDeliveryState(
        input({ result: { error: 'http_status', responseStatus, retryAfterMs: 45_000 } }),
      );
      expect(within.nextAttemptAt).toBe(t0 + 45 * SECOND);
      const capped = nextDeliveryState(
        input({ result: { error: 'http_status', responseStatus, retryAfterMs: 3_600_000 } }),
      );
      expect(capped.nextAttemptAt).toBe(t0 + 60 * SECOND);
    }
  });

  it('ignores retry-after on other statuses', () => {
    const state = nextDeliveryState(
      input({ result: { error: 'http_status', responseStatus: 500, retryAfterMs: 45_000 } }),
    );
    expect(state.nextAttemptAt).toBe(t0 + 30 * SECOND);
  });

  it('a 410 Gone asks for the endpoint to be disabled and keeps the delivery in its window', () => {
    const state = nextDeliveryState(input({ result: { error: 'http_status', responseStatus: 410 } }));
    expect(state).toEqual({ status: 'pending', nextAttemptAt: t0 + 30 * SECOND, disableEndpoint: true });
  });

  describe('a manual attempt', () => {
    it('turns a failed delivery succeeded when it succeeds', () => {
      const state = nextDeliveryState(
        input({
          manual: true,
          result: ok,
          delivery: { createdAt: t0, attemptCount: 13, status: 'failed', nextAttemptAt: null },
        }),
      );
      expect(state).toEqual({ status: 'succeeded', nextAttemptAt: null, disableEndpoint: false });
    });

    it('leaves a failed delivery failed, with no automatic attempt, when it fails', () => {
      const state = nextDeliveryState(
        input({
          manual: true,
          now: t0 + 48 * HOUR,
          delivery: { createdAt: t0, attemptCount: 13, status: 'failed', nextAttemptAt: null },
        }),
      );
      expect(state).toEqual({ status: 'failed', nextAttemptAt: null, disableEndpoint: false });
    });

    it('leaves a pending delivery on its schedule when it fails', () => {
      const state = nextDeliveryState(
        input({
          manual: true,
          now: t0 + 40 * SECOND,
          delivery: { createdAt: t0, attemptCount: 2, status: 'pending', nextAttemptAt: t0 + 90 * SECOND },
        }),
      );
      expect(state).toEqual({ status: 'pending', nextAttemptAt: t0 + 90 * SECOND, disableEndpoint: false });
    });
  });
});
