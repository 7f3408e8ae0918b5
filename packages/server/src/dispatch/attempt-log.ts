import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { AttemptOutcome, Store } from '../store/types.js';

/**
 * The attempt log: outcomes are buffered and written with ONE store.recordAttempts call per batch,
 * flushed on the next turn of the event loop or as soon as `maxBatch` rows wait. A commit with a
 * sync costs ~150 µs on this machine whatever it carries, so one commit per attempt would cap
 * delivery near 6,000/s on the disk alone; batched, the 8,000/s target is bounded by HTTP instead.
 *
 * Writes run one at a time, in order: an outcome recorded later never lands before an earlier one.
 * When a write fails, its attempts stay claimed until the lease ends and are then sent again:
 * one more attempt, never a lost delivery.
 */
export interface AttemptLog {
  /** Resolves once the outcome is committed. */
  record(outcome: AttemptOutcome): Promise<void>;
  /** Resolves once everything recorded so far is committed (or has failed). */
  flush(): Promise<void>;
}

interface Pending {
  outcome: AttemptOutcome;
  resolve(): void;
  reject(error: unknown): void;
}

export function createAttemptLog(deps: {
  store: Pick<Store, 'recordAttempts'>;
  clock: Clock;
  logger: Logger;
  maxBatch?: number;
}): AttemptLog {
  const maxBatch = deps.maxBatch ?? 200;
  let buffer: Pending[] = [];
  let scheduled = false;
  let writing: Promise<void> = Promise.resolve();

  function flushNow(): Promise<void> {
    scheduled = false;
    if (buffer.length === 0) return writing;
    const batch = buffer;
    buffer = [];
    writing = writing.then(async () => {
      try {
        await deps.store.recordAttempts(
          batch.map((p) => p.outcome),
          deps.clock.now(),
        );
        for (const p of batch) p.resolve();
      } catch (error) {
        deps.logger.error({ err: error, attempts: batch.length }, 'recording attempts failed; they will be retried');
        for (const p of batch) p.reject(error);
      }
    });
    return writing;
  }

  return {
    record(outcome) {
      return new Promise<void>((resolve, reject) => {
        buffer.push({ outcome, resolve, reject });
        if (buffer.length >= maxBatch) void flushNow();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flushNow());
        }
      });
    },
    flush: () => flushNow(),
  };
}
