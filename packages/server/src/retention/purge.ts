import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/types.js';

/**
 * Retention: event payloads and attempt response bodies older than config.retentionMs
 * (`--retention`, 30 days) are purged; ids, types, times, statuses, headers and counts stay, so the
 * dashboard and the API still show what happened. A purged event's `data` reads as null.
 * Idempotency keys are deleted once expired (24 h): a publish no longer reads them.
 *
 * Work goes in batches of PURGE_BATCH rows, one short transaction each, so the purge never holds
 * SQLite's write lock long enough to delay a publish noticeably.
 */
export const PURGE_BATCH = 1_000;

export async function purgeExpired(deps: {
  store: Pick<Store, 'purgeBefore' | 'purgeExpiredIdempotencyKeys'>;
  config: Pick<Config, 'retentionMs' | 'clock'>;
  logger: Logger;
}): Promise<{ events: number; attempts: number; idempotencyKeys: number }> {
  const now = deps.config.clock.now();
  const before = now - deps.config.retentionMs;
  const total = { events: 0, attempts: 0, idempotencyKeys: 0 };
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
  if (total.events + total.attempts + total.idempotencyKeys > 0) {
    deps.logger.info(
      { ...total, before: new Date(before).toISOString() },
      'retention: purged payloads, response bodies and expired idempotency keys',
    );
  }
  return total;
}
