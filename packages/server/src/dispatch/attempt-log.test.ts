import { manualClock, newId } from '@herald/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../store/types.js';
import { createAttemptLog } from './attempt-log.js';

function outcome(): AttemptOutcome {
  return {
    claim: 'a-claim',
    attempt: {
      id: newId('attempt'),
      deliveryId: newId('delivery'),
      attemptNo: 1,
      startedAt: 0,
      durationMs: 1,
      requestHeaders: {},
      responseStatus: 200,
      responseHeaders: {},
      responseBody: '',
      error: null,
      manual: false,
    },
    status: 'succeeded',
    nextAttemptAt: null,
  };
}

describe('the attempt log', () => {
  const logger = pino({ level: 'silent' });

  it('writes 450 attempts that finish together in three commits, not 450', async () => {
    const batches: number[] = [];
    const log = createAttemptLog({
      store: { recordAttempts: async (outcomes) => void batches.push(outcomes.length) },
      clock: manualClock(),
      logger,
    });
    await Promise.all(Array.from({ length: 450 }, () => log.record(outcome())));
    expect(batches).toEqual([200, 200, 50]);
  });

  it('gathers attempts that finish a few ms apart into one commit', async () => {
    const batches: number[] = [];
    const log = createAttemptLog({
      store: { recordAttempts: async (outcomes) => void batches.push(outcomes.length) },
      clock: manualClock(),
      logger,
      flushDelayMs: 20,
    });
    const recorded = [log.record(outcome())];
    await new Promise((resolve) => setTimeout(resolve, 5));
    recorded.push(log.record(outcome()), log.record(outcome()));
    await Promise.all(recorded);
    expect(batches).toEqual([3]);
  });

  it('rejects the attempts of a batch the store could not write, and keeps going', async () => {
    let fail = true;
    const log = createAttemptLog({
      store: {
        recordAttempts: async () => {
          if (fail) throw new Error('disk full');
        },
      },
      clock: manualClock(),
      logger,
    });
    await expect(log.record(outcome())).rejects.toThrow('disk full');
    fail = false;
    await expect(log.record(outcome())).resolves.toBeUndefined();
  });
});
