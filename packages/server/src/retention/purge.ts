import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/types.js';

/**
 * Retention: event payloads and attempt response bodies older than config.retentionMs
 * (`--retention`, 30 days) are purged; ids, types, times, statuses, headers and counts stay, so the
 * dashboard and the API still show what happened. A purged event's `data` reads as null.
 * Idempotency keys are deleted once expired (24 h): a publish no longer reads them. Alerts resolved
 * before the same horizon leave the alert history (open ones stay, whatever their age).
 *
 * Work goes in batches of PURGE_BATCH rows, one short transaction each, so the purge never holds
 * SQLite's write lock long enough to delay a publish noticeably.
 */
export const PURGE_BATCH = 1_000;

export async function purgeExpired(deps: {
  store: Pick<Store, 'purgeBefore' | 'purgeExpiredIdempotencyKeys' | 'purgeResolvedAlerts'>;
  config: Pick<Config, 'retentionMs' | 'clock'>;
  logger: Logger;
}): Promise<{ events: number; attempts: number; idempotencyKeys: number; alerts: number }> {
  const now = deps.config.clock.now();
  const before = now - deps.config.retentionMs;
  const total = { events: 0, attempts: 0, idempotencyKeys: 0, alerts: 0 };
  for (;;) {
    const batch = await deps.store.purgeBefore(before, PURGE_BATCH);
    total.events += batch.events;
    total.attempts += batch.attempts;
    if (batch.events < PURGE_BATCH && batch.attempts < PURGE_BATCH) break;
  }
  for (;;) {
    const deleted = await deps.store.purgeExpiredIdempotencyKeys(now, PURGE_BATCH);
    total.idempotencyKeys += deleted;
    if (deleted < PURGE_BATCH) break;
  }
  for (;;) {
    const deleted = await deps.store.purgeResolvedAlerts(before, PURGE_BATCH);
    total.alerts += deleted;
    if (deleted < PURGE_BATCH) break;
  }
  if (total.events + total.attempts + total.idempotencyKeys + total.alerts > 0) {
    deps.logger.info(
      { ...total, before: new Date(before).toISOString() },
      'retention: purged payloads, response bodies, expired idempotency keys and resolved alerts',
    );
  }
  return total;
}
