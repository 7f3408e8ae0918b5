import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, nextAttemptAt, parseRetryAfter, type RetryPolicy, retryInterval } from './retry.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const CREATED_AT = Date.UTC(2026, 10, 27, 5, 51, 30, 123);
const DEADLINE = CREATED_AT + 24 * HOUR;

const noJitter = () => 0;
const mostJitter = () => 0.999;

/** Every attempt of a delivery whose endpoint always fails, from its creation until the schedule gives up. */
function simulateAlwaysFailing(
  random: () => number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  lateness: () => number = () => 0,
): number[] {
  const attempts = [CREATED_AT];
  for (let attemptNo = 1; attemptNo < 1_000; attemptNo++) {
    const now = attempts[attempts.length - 1] as number;
    const due = nextAttemptAt({ createdAt: CREATED_AT, attemptNo, now, random }, policy);
    if (due === null) return attempts;
    attempts.push(due + lateness());
  }
  throw new Error('The schedule never ended.');
}

describe('the retry schedule', () => {
  it('retries 30 s, 1 min, 2 min and 4 min after failed attempts 1, 2, 3 and 4', () => {
    const failedAt = CREATED_AT + 5 * SECOND;
    const delays = [1, 2, 3, 4].map(
      (attemptNo) =>
        (nextAttemptAt({ createdAt: CREATED_AT, attemptNo, now: failedAt, random: noJitter }) as number) - failedAt,
    );
    expect(delays).toEqual([30 * SECOND, 1 * MINUTE, 2 * MINUTE, 4 * MINUTE]);
    expect([1, 2, 3, 4].map((n) => retryInterval(n))).toEqual([30 * SECOND, 1 * MINUTE, 2 * MINUTE, 4 * MINUTE]);
  });

  it('adds jitter that stays under 10 % of the interval, even when random() is nearly 1', () => {
    for (let attemptNo = 1; attemptNo <= 10; attemptNo++) {
      const now = CREATED_AT + SECOND;
      const interval = retryInterval(attemptNo);
      const delay = (nextAttemptAt({ createdAt: CREATED_AT, attemptNo, now, random: mostJitter }) as number) - now;
      expect(delay).toBeGreaterThan(interval);
      expect(delay).toBeLessThan(interval * 1.1);
    }
  });

  it('keeps every due time between the interval and the interval plus 10 %, for any random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 11 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attemptNo, r) => {
          const now = CREATED_AT;
          const delay = (nextAttemptAt({ createdAt: CREATED_AT, attemptNo, now, random: () => r }) as number) - now;
          expect(delay).toBeGreaterThanOrEqual(retryInterval(attemptNo));
          expect(delay).toBeLessThan(retryInterval(attemptNo) * 1.1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is a pure function: the same input gives the same due time, whatever the real clock says', () => {
    const input = { createdAt: 0, attemptNo: 3, now: 10 * SECOND, random: () => 0.5 };
    expect(nextAttemptAt(input)).toBe(10 * SECOND + 2 * MINUTE + 6 * SECOND);
    expect(nextAttemptAt(input)).toBe(nextAttemptAt({ ...input }));
  });
});

describe('the 24-hour deadline', () => {
  it('moves a retry that would fall past the deadline to the deadline itself', () => {
    const now = DEADLINE - MINUTE;
    expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo: 12, now, random: mostJitter })).toBe(DEADLINE);
    expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo: 1, now: DEADLINE - 1, random: noJitter })).toBe(DEADLINE);
  });

  it('gives up once an attempt fails at or after the deadline', () => {
    expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo: 13, now: DEADLINE, random: noJitter })).toBeNull();
    expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo: 13, now: DEADLINE + 1, random: noJitter })).toBeNull();
    expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo: 1, now: DEADLINE + HOUR, random: noJitter })).toBeNull();
  });

  it('an endpoint that is down all day gets 13 attempts, the last exactly 24 h after the delivery was made', () => {
    const attempts = simulateAlwaysFailing(noJitter);
    expect(attempts.map((at) => (at - CREATED_AT) / SECOND)).toEqual([
      0, 30, 90, 210, 450, 930, 1890, 3810, 7650, 15330, 30690, 61410, 86400,
    ]);
  });

  it('whatever the jitter and however late the dispatcher runs, the schedule ends at the deadline', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1 }),
        fc.array(fc.integer({ min: 0, max: 5 * SECOND }), { minLength: 1 }),
        (randoms, delays) => {
          let r = 0;
          let d = 0;
          const attempts = simulateAlwaysFailing(
            () => randoms[r++ % randoms.length] as number,
            DEFAULT_RETRY_POLICY,
            () => delays[d++ % delays.length] as number,
          );
          for (let i = 1; i < attempts.length; i++) {
            expect(attempts[i] as number).toBeGreaterThan(attempts[i - 1] as number);
          }
          const last = attempts[attempts.length - 1] as number;
          expect(last).toBeGreaterThanOrEqual(DEADLINE);
          expect(last).toBeLessThanOrEqual(DEADLINE + 5 * SECOND);
          expect(attempts[attempts.length - 2] as number).toBeLessThan(DEADLINE);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an attempt number far past the schedule still lands on the deadline, never on NaN', () => {
    for (const random of [noJitter, mostJitter]) {
      for (const attemptNo of [100, 1_100, 10_000]) {
        expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo, now: CREATED_AT + HOUR, random })).toBe(DEADLINE);
      }
    }
  });
});

describe('retry-after from an endpoint that answered 429 or 503', () => {
  const failedAt = CREATED_AT + MINUTE;
  const attempt1 = { createdAt: CREATED_AT, attemptNo: 1, now: failedAt, random: noJitter };

  it('is honoured when it asks for longer than the schedule would wait', () => {
    expect(nextAttemptAt({ ...attempt1, retryAfterMs: 45 * SECOND })).toBe(failedAt + 45 * SECOND);
  });

  it('is capped at twice the interval, so an endpoint cannot park a delivery for a day', () => {
    expect(nextAttemptAt({ ...attempt1, retryAfterMs: 10 * MINUTE })).toBe(failedAt + 60 * SECOND);
    expect(nextAttemptAt({ ...attempt1, attemptNo: 3, retryAfterMs: HOUR })).toBe(failedAt + 4 * MINUTE);
  });

  it('never brings a retry earlier than the schedule: retry-after: 0 does not turn retries into a tight loop', () => {
    expect(nextAttemptAt({ ...attempt1, retryAfterMs: 0 })).toBe(failedAt + 30 * SECOND);
    expect(nextAttemptAt({ ...attempt1, attemptNo: 5, retryAfterMs: SECOND })).toBe(failedAt + 8 * MINUTE);
    expect(nextAttemptAt({ ...attempt1, retryAfterMs: 0, random: mostJitter })).toBeGreaterThan(failedAt + 30 * SECOND);
  });

  it('still respects the deadline', () => {
    const late = { ...attempt1, attemptNo: 10, now: DEADLINE - MINUTE };
    expect(nextAttemptAt({ ...late, retryAfterMs: 2 * HOUR })).toBe(DEADLINE);
  });
});

describe('a custom policy', () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, baseMs: SECOND, maxAgeMs: MINUTE };

  it('starts at its base interval and doubles it', () => {
    expect([1, 2, 3].map((n) => retryInterval(n, policy))).toEqual([SECOND, 2 * SECOND, 4 * SECOND]);
    expect(nextAttemptAt({ createdAt: CREATED_AT, attemptNo: 1, now: CREATED_AT, random: noJitter }, policy)).toBe(
      CREATED_AT + SECOND,
    );
  });

  it('ends at its own max age', () => {
    const attempts = simulateAlwaysFailing(noJitter, policy);
    expect(attempts.map((at) => at - CREATED_AT)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000, 60_000]);
  });

  it('with no jitter allowed, random() has no effect', () => {
    const fixed = { ...policy, jitter: 0 };
    const input = { createdAt: CREATED_AT, attemptNo: 2, now: CREATED_AT, random: mostJitter };
    expect(nextAttemptAt(input, fixed)).toBe(CREATED_AT + 2 * SECOND);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2015, 9, 21, 7, 28, 0);

  it('reads a number of seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120 * SECOND);
    expect(parseRetryAfter(' 5 ', now)).toBe(5 * SECOND);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date as the time from now until then', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30 * SECOND);
  });

  it('reads an HTTP date already past as 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
  });

  it('gives undefined for a missing or unreadable header', () => {
    for (const value of [undefined, null, '', 'soon', 'tomorrow please'])
      expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
