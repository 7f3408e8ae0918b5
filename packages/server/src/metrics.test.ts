import { manualClock } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

/** The value of one sample line of Prometheus text. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/**
 * A store whose pending count finishes only when the test says so: a count over a million-row
 * backlog, in slow motion. The real stores' counts are in the store suite.
 */
function slowCountStore() {
  let pending = 0;
  const waiting: Array<() => void> = [];
  let counts = 0;
  return {
    set(n: number) {
      pending = n;
    },
    /** Lets every count in progress finish. */
    finishCounts() {
      for (const done of waiting.splice(0)) done();
    },
    get counts() {
      return counts;
    },
    store: {
      async deliveryHealth() {
        return { oldestDueAt: null, lastAttemptAt: null };
      },
      countPendingDeliveries() {
        counts++;
        const n = pending;
        return new Promise<number>((resolve) => waiting.push(() => resolve(n)));
      },
    },
  };
}

describe('herald_deliveries_pending', () => {
  it('never makes a scrape wait for the count after the first: it reports the last count and starts the next, one at a time', async () => {
    const s = slowCountStore();
    const metrics = createMetrics({ store: s.store, clock: manualClock() });

    // The first scrape has nothing to report yet: it waits for its count.
    s.set(3);
    const first = metrics.registry.metrics();
    await new Promise((r) => setTimeout(r, 10));
    s.finishCounts();
    expect(sample(await first, 'herald_deliveries_pending')).toBe(3);

    // The backlog grows; the count of it is slow. Scrapes answer at once with the last count, and
    // the two of them start one count between them.
    s.set(1_000_000);
    const countsBefore = s.counts;
    expect(sample(await metrics.registry.metrics(), 'herald_deliveries_pending')).toBe(3);
    expect(sample(await metrics.registry.metrics(), 'herald_deliveries_pending')).toBe(3);
    expect(s.counts - countsBefore).toBe(1);

    // Once that count finishes, the next scrape reports it.
    s.finishCounts();
    await new Promise((r) => setTimeout(r, 0));
    expect(sample(await metrics.registry.metrics(), 'herald_deliveries_pending')).toBe(1_000_000);
  });
});
