import type { Clock } from '@herald/protocol';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryStatus, Store } from './store/types.js';

/**
 * The Prometheus metrics of one Herald (GET /metrics). Each Herald has a registry of its own, not
 * prom-client's global one: tests run several Heralds in one process.
 *
 * Counters count what THIS process did (a `herald api` counts publishes, a worker counts attempts);
 * the two gauges about waiting deliveries are read from the store (the count one scrape behind), so
 * every process reports the same backlog whatever it runs.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Events accepted by publish (replays of an idempotency key are not counted again). */
  eventsPublished(count: number): void;
  /** One attempt and what it made of its delivery. */
  attempt(outcome: { endpointId: string; ok: boolean; status: DeliveryStatus; durationMs: number }): void;
  /** A delivery's first automatic attempt started `lagMs` after its event's created_at. */
  deliveryLag(lagMs: number): void;
}

/** Attempt latency buckets, seconds: from a local receiver's 5 ms to the 10 s attempt timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Delivery lag buckets, seconds. The low end resolves a healthy sender (p50 1–3 ms at 1,000 events/s
 * on a 2-core machine); 0.02 and 0.05 are the p99 goals (one endpoint at 1,000/s, fifty at 5,000/s),
 * so the share inside each goal is read straight off a bucket; the high end reaches an hour, for a
 * worker that was down or a backlog that is being worked off (longer lands in +Inf and the sum).
 */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function createMetrics(deps: {
  store: Pick<Store, 'deliveryHealth' | 'countPendingDeliveries'>;
  clock: Clock;
}): Metrics {
  const registry = new Registry();
  const published = new Counter({
    name: 'herald_events_published_total',
    help: 'Events published (accepted and stored).',
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Attempt results by what they made of the delivery: succeeded, retry_scheduled, or failed (for good).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'herald_attempt_duration_seconds',
    help: 'Attempt latency, from connect to the end of the kept response, by outcome (success or failure).',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'herald_delivery_lag_seconds',
    help: "From publish (the event's created_at, stamped just before its commit) to the start of the delivery's first automatic attempt.",
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  const endpointFailures = new Counter({
    name: 'herald_endpoint_failures_total',
    help: 'Failed attempts per endpoint.',
    labelNames: ['endpoint_id'] as const,
    registers: [registry],
  });
  // The pending count scans every pending row (about 100 ms per million on PostgreSQL, on SQLite's one
  // thread too), so a scrape never waits for it: it reports the last count and starts the next, one
  // at a time. The first count starts with the process; only a scrape that comes before it ends
  // waits (measured: the first scrape beside a million pending, 96–125 ms on PostgreSQL, was the
  // slowest read of `npm run bench`'s backlog). The gauge is a scrape behind, which Prometheus's rate of
  // scraping makes a few seconds; the oldest-due gauge below, which /readyz's judgement shares, is
  // an index probe per endpoint and read fresh every time.
  let lastPending: number | undefined;
  let counting: Promise<number> | undefined;
  const countPending = () => {
    counting ??= deps.store
      .countPendingDeliveries()
      .then((n) => {
        lastPending = n;
        return n;
      })
      .finally(() => {
        counting = undefined;
      });
    return counting;
  };
  countPending().catch(() => {}); // a failure is the first scrape's to report: it counts again
  new Gauge({
    name: 'herald_deliveries_pending',
    help: 'Deliveries pending (due, being sent, or waiting for a retry): the last count finished, started at process start and by each scrape (counted in the background, so a scrape never waits for a scan of the backlog).',
    registers: [registry],
    async collect() {
      if (lastPending === undefined) {
        this.set(await countPending());
        return;
      }
      this.set(lastPending);
      // A count that fails keeps the last one; the next scrape starts another.
      countPending().catch(() => {});
    },
  });
  new Gauge({
    name: 'herald_oldest_due_delivery_age_seconds',
    help: 'How long the oldest due delivery (of an enabled endpoint) has waited; 0 when none is due.',
    registers: [registry],
    async collect() {
      const { oldestDueAt } = await deps.store.deliveryHealth(deps.clock.now());
      this.set(oldestDueAt === null ? 0 : Math.max(0, (deps.clock.now() - oldestDueAt) / 1000));
    },
  });

  return {
    registry,
    eventsPublished(count) {
      if (count > 0) published.inc(count);
    },
    attempt({ endpointId, ok, status, durationMs }) {
      deliveries.inc({ outcome: status === 'pending' ? 'retry_scheduled' : status });
      latency.observe({ outcome: ok ? 'success' : 'failure' }, durationMs / 1000);
      if (!ok) endpointFailures.inc({ endpoint_id: endpointId });
    },
    deliveryLag(lagMs) {
      // Clamped: another host's clock a little ahead must not observe a negative wait.
      lag.observe(Math.max(0, lagMs) / 1000);
    },
  };
}
