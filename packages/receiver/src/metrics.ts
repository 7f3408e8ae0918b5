import { Counter, Gauge, Registry } from 'prom-client';

export interface ReceiverMetrics {
  registry: Registry;
  received: Counter<'source'>;
  rejected: Counter<'reason'>;
  duplicates: Counter;
  conflicts: Counter;
  processed: Counter<'type'>;
  failed: Counter<'type'>;
  dead: Counter<'type'>;
  stale: Counter;
  recovered: Counter;
}

/**
 * The receiver's Prometheus metrics, in a registry of their own that the application exposes (or
 * merges into its own with `Registry.merge`). Gauges of the inbox are read when scraped.
 */
export function createMetrics(
  options: {
    registry?: Registry;
    prefix?: string;
    inboxStats?: () => Promise<{ pending: number; oldestPendingAt: number | null }>;
    now?: () => number;
  } = {},
): ReceiverMetrics {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'herald_receiver_';
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name: p + name, help, labelNames, registers });
  const metrics: ReceiverMetrics = {
    registry,
    received: counter('received_total', 'Webhooks accepted into the inbox, by source (webhook or poll).', ['source']),
    rejected: counter('rejected_total', 'Requests refused by the route (401, 400, 413), by reason.', ['reason']),
    duplicates: counter('duplicates_total', 'Deliveries of an id the inbox already had.'),
    conflicts: counter('conflicts_total', 'Bodies that differ from the one kept under the same id; kept aside.'),
    processed: counter('processed_total', 'Events whose handler succeeded.', ['type']),
    failed: counter('failed_total', 'Handler runs that threw (each is retried until it is dead).', ['type']),
    dead: counter('dead_total', 'Events parked as dead after their last try.', ['type']),
    stale: counter('stale_total', 'Events skipped as older than one already processed for their key.'),
    recovered: counter('recovered_total', 'Events that the watchdog found by polling and the route never got.'),
  };
  const stats = options.inboxStats;
  const now = options.now ?? Date.now;
  if (stats) {
    let last: Promise<{ pending: number; oldestPendingAt: number | null }> | undefined;
    // One inbox query per scrape, shared by both gauges.
    const read = () => {
      last ??= stats().finally(() => setTimeout(() => (last = undefined), 0));
      return last;
    };
    new Gauge({
      name: `${p}inbox_lag_seconds`,
      help: 'Age of the oldest pending event in the inbox, seconds (0 when none waits).',
      registers,
      async collect() {
        const s = await read().catch(() => undefined);
        if (s) this.set(s.oldestPendingAt === null ? 0 : Math.max(0, now() - s.oldestPendingAt) / 1000);
      },
    });
    new Gauge({
      name: `${p}inbox_pending`,
      help: 'Events waiting in the inbox for their handler.',
      registers,
      async collect() {
        const s = await read().catch(() => undefined);
        if (s) this.set(s.pending);
      },
    });
  }
  return metrics;
}
