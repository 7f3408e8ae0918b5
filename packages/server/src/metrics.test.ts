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
    s.set(3);
    // The first count starts with the metrics (the process); a scrape before it ends waits for it,
    // and starts no second one.
    const metrics = createMetrics({ store: s.store, clock: manualClock() });
    expect(s.counts).toBe(1);
    const first = metrics.registry.metrics();
    await new Promise((r) => setTimeout(r, 10));
    s.finishCounts();
    expect(sample(await first, 'herald_deliveries_pending')).toBe(3);
    expect(s.counts).toBe(1);

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

  it('a scrape after the first count ended answers at once with it', async () => {
    const s = slowCountStore();
    s.set(7);
    const metrics = createMetrics({ store: s.store, clock: manualClock() });
    s.finishCounts();
    await new Promise((r) => setTimeout(r, 0));
    s.set(8);
    expect(sample(await metrics.registry.metrics(), 'herald_deliveries_pending')).toBe(7);
    expect(s.counts).toBe(2); // and it started the next
  });
});
