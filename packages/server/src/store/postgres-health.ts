import type pg from 'pg';
import { FIRST_DUE_PER_ENDPOINT } from './claim-sql.js';
import { alertFromRow, alertHistoryRow, endpointFromRow } from './rows.js';
import type { Database } from './schema.js';
import type { SecretBox } from './secret-box.js';
import type { PublishInput, PublishResult, Store } from './types.js';

/**
 * The PostgreSQL side of endpoint health, readiness, alerts and retention (see the Store JSDoc);
 * the same statements as sqlite.ts's healthStatements, in PostgreSQL's dialect.
 */
export type HealthQueries = Pick<
  Store,
  | 'disableEndpoint'
  | 'listFailingEndpoints'
  | 'deliveryHealth'
  | 'countPendingDeliveries'
  | 'overdueByAccount'
  | 'endpointAttemptCounts'
  | 'listOpenAlerts'
  | 'openAlert'
  | 'closeAlert'
  | 'purgeBefore'
  | 'purgeExpiredIdempotencyKeys'
  | 'purgeResolvedAlerts'
>;

/** Runs a write and, when it took effect, publishes its event in the same transaction (postgres.ts). */
export interface PublishWith {
  inTransaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T>;
  publishIn(c: pg.PoolClient, events: PublishInput[]): Promise<PublishResult[]>;
}

export function postgresHealth(
  pool: pg.Pool,
  box: SecretBox,
  { inTransaction, publishIn }: PublishWith,
): HealthQueries {
  /**
   * `write` on a client of its own, then `event` when the write took effect. The feed_counter row is
   * locked first, as every publish does (postgres.ts publishBatch), so this transaction and the
   * publishers take their locks in one order and never deadlock.
   */
  function withEvent<T>(
    write: (c: pg.Pool | pg.PoolClient) => Promise<T>,
    event: PublishInput | undefined,
    /** The write is several statements: a transaction even without an event. */
    atomic = false,
  ): Promise<T> {
    if (!event && atomic) return inTransaction(write);
    if (!event) return write(pool);
    return inTransaction(async (c) => {
      await c.query('SELECT value FROM feed_counter WHERE id = 1 FOR UPDATE');
      const result = await write(c);
      if (result) await publishIn(c, [event]);
      return result;
    });
  }

  return {
    async disableEndpoint(accountId, id, { reason, at, failingSinceAtOrBefore, event }) {
      // The conditional update: its row count decides which process publishes endpoint.disabled.
      const row = await withEvent(async (c) => {
        const result = await c.query<Database['endpoints']>(
          `UPDATE endpoints SET disabled = 1, disabled_reason = $1, updated_at = $2
           WHERE account_id = $3 AND id = $4 AND disabled = 0 AND deleted_at IS NULL
             AND ($5::int8 IS NULL OR failing_since <= $5::int8)
           RETURNING *`,
          [reason, at, accountId, id, failingSinceAtOrBefore ?? null],
        );
        return result.rows[0];
      }, event);
      return row && endpointFromRow(row, box);
    },
    async listFailingEndpoints(failingSince) {
      // Uses endpoints_failing.
      const result = await pool.query<Database['endpoints']>(
        `SELECT * FROM endpoints
         WHERE failing_since IS NOT NULL AND disabled = 0 AND failing_since <= $1 AND deleted_at IS NULL
         ORDER BY failing_since`,
        [failingSince],
      );
      return result.rows.map((r) => endpointFromRow(r, box));
    },
    async countPendingDeliveries() {
      const result = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'`,
      );
      return Number(result.rows[0]?.n ?? 0);
    },
    async deliveryHealth(now) {
      // deliveries_endpoint_due for the oldest due (one probe per enabled endpoint, claim-sql.ts);
      // attempts_started for the last attempt.
      const result = await pool.query<{ oldest: number | null; last: number | null }>(
        `SELECT
           (SELECT min(due_at) FROM (${FIRST_DUE_PER_ENDPOINT.postgres}) AS f) AS oldest,
           (SELECT max(started_at) FROM attempts) AS last`,
        [now],
      );
      const row = result.rows[0] as { oldest: number | null; last: number | null };
      return {
        oldestDueAt: row.oldest === null ? null : Number(row.oldest),
        lastAttemptAt: row.last === null ? null : Number(row.last),
      };
    },
    async overdueByAccount(dueAtOrBefore) {
      // The same probe per enabled endpoint: a healthy store reads one index entry per endpoint at most.
      const result = await pool.query<{ account_id: string; oldest: number }>(
        `SELECT account_id, min(due_at) AS oldest FROM (${FIRST_DUE_PER_ENDPOINT.postgres}) AS f
         WHERE due_at IS NOT NULL GROUP BY account_id`,
        [dueAtOrBefore],
      );
      return result.rows.map((r) => ({ accountId: r.account_id, oldestDueAt: Number(r.oldest) }));
    },
    async endpointAttemptCounts(since) {
      // A range on attempts_started (the window), each joined to its delivery by primary key.
      const result = await pool.query<{ account_id: string; endpoint_id: string; attempts: number; failures: number }>(
        `SELECT d.account_id, d.endpoint_id, count(*)::int AS attempts,
                (count(*) FILTER (WHERE a.error IS NOT NULL))::int AS failures
         FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE a.started_at >= $1
         GROUP BY d.account_id, d.endpoint_id`,
        [since],
      );
      return result.rows.map((r) => ({
        accountId: r.account_id,
        endpointId: r.endpoint_id,
        attempts: Number(r.attempts),
        failures: Number(r.failures),
      }));
    },
    async listOpenAlerts() {
      const result = await pool.query<Database['alerts']>('SELECT * FROM alerts ORDER BY opened_at, account_id, key');
      return result.rows.map(alertFromRow);
    },
    async openAlert(a, event) {
      return withEvent(
        async (c) => {
          const result = await c.query(
            `INSERT INTO alerts (account_id, key, kind, endpoint_id, value, threshold, opened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, key) DO NOTHING`,
            [a.accountId, a.key, a.kind, a.endpointId, a.value, a.threshold, a.openedAt],
          );
          const opened = (result.rowCount ?? 0) > 0;
          // The history of alerts (GET /v1/alerts), written with the alerts row it follows.
          if (opened) {
            const h = alertHistoryRow(a);
            await c.query(
              `INSERT INTO alert_history (id, account_id, key, kind, endpoint_id, value, threshold, message, details, opened_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
              [
                h.id,
                h.account_id,
                h.key,
                h.kind,
                h.endpoint_id,
                h.value,
                h.threshold,
                h.message,
                h.details,
                h.opened_at,
              ],
            );
          }
          return opened;
        },
        event,
        true,
      );
    },
    async closeAlert(accountId, key, event) {
      return withEvent(
        async (c) => {
          const result = await c.query('DELETE FROM alerts WHERE account_id = $1 AND key = $2', [accountId, key]);
          const closed = (result.rowCount ?? 0) > 0;
          if (closed) {
            await c.query(
              'UPDATE alert_history SET resolved_at = $1 WHERE account_id = $2 AND key = $3 AND resolved_at IS NULL',
              [event?.createdAt ?? Date.now(), accountId, key],
            );
          }
          return closed;
        },
        event,
        true,
      );
    },
    async purgeBefore(before, limit) {
      // events_payload_kept and attempts_body_kept hold exactly the rows still to purge.
      const events = await pool.query(
        `UPDATE events SET data = 'null'
         WHERE feed_seq IN (SELECT feed_seq FROM events WHERE data <> 'null' AND created_at < $1 LIMIT $2)`,
        [before, limit],
      );
      const attempts = await pool.query(
        `UPDATE attempts SET response_body = NULL
         WHERE id IN (SELECT id FROM attempts WHERE response_body IS NOT NULL AND started_at < $1 LIMIT $2)`,
        [before, limit],
      );
      return { events: events.rowCount ?? 0, attempts: attempts.rowCount ?? 0 };
    },
    async purgeExpiredIdempotencyKeys(now, limit) {
      // A range on idempotency_keys_expiry, oldest first.
      const result = await pool.query(
        `DELETE FROM idempotency_keys WHERE (account_id, key) IN (
           SELECT account_id, key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`,
        [now, limit],
      );
      return result.rowCount ?? 0;
    },
    async purgeResolvedAlerts(before, limit) {
      // The history is small (an alert opens at most once per check per endpoint): a scan of it.
      const result = await pool.query(
        `DELETE FROM alert_history
         WHERE id IN (SELECT id FROM alert_history WHERE resolved_at IS NOT NULL AND resolved_at < $1 LIMIT $2)`,
        [before, limit],
      );
      return result.rowCount ?? 0;
    },
  };
}
