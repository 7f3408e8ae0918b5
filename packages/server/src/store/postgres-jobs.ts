import type pg from 'pg';
import { connectionFromRow, jobFromRow } from './rows.js';
import type { Database } from './schema.js';
import type { ConnectionRecord, ConnectionSyncReport, DeliveryStatus, JobRecord, OpenJobItem, Store } from './types.js';

/**
 * Bulk jobs and connection sync status on PostgreSQL: the same statements as the SQLite store's,
 * in PostgreSQL's dialect. Jobs are leased (claimRunningJob with SKIP LOCKED), so a job runs in
 * one worker of the fleet at a time, and an item's outcome is written only once, whoever runs it.
 */
export type JobAndConnectionMethods = Pick<
  Store,
  | 'createBulkRetryJob'
  | 'getJob'
  | 'claimRunningJob'
  | 'renewJobLease'
  | 'releaseJobLease'
  | 'takeOpenJobItems'
  | 'recordJobItemOutcomes'
  | 'recordConnectionSync'
>;

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export function postgresJobsAndConnections(
  pool: pg.Pool,
  inTransaction: <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
): JobAndConnectionMethods {
  async function withCounts(q: Queryable, row: Database['jobs']): Promise<JobRecord> {
    // Primary key prefix (job_id).
    const counts = await q.query<{ succeeded: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE outcome = 'succeeded')::int AS succeeded,
              count(*) FILTER (WHERE outcome = 'failed')::int AS failed
       FROM job_items WHERE job_id = $1`,
      [row.id],
    );
    return jobFromRow(row, counts.rows[0] ?? { succeeded: 0, failed: 0 });
  }

  return {
    async createBulkRetryJob(job) {
      return inTransaction(async (c) => {
        // Uses deliveries_account_status (account_id, status, id): only the account's failed rows are read.
        const items = await c.query(
          `INSERT INTO job_items (job_id, delivery_id)
           SELECT $1, d.id FROM deliveries d
           WHERE d.account_id = $2 AND d.status = 'failed'
             AND ($3::text IS NULL OR d.endpoint_id = $3)
             AND ($4::int8 IS NULL OR d.created_at >= $4)
             AND ($5::int8 IS NULL OR d.created_at < $5)
             AND ($6::text IS NULL OR d.tenant_id = $6)
             AND d.endpoint_id IN (SELECT id FROM endpoints WHERE deleted_at IS NULL)`,
          [
            job.id,
            job.accountId,
            job.filter.endpointId ?? null,
            job.filter.since ?? null,
            job.filter.until ?? null,
            job.filter.tenantId ?? null,
          ],
        );
        const total = items.rowCount ?? 0;
        const inserted = await c.query<Database['jobs']>(
          `INSERT INTO jobs (id, account_id, kind, state, params, total, created_at, finished_at, tenant_id)
           VALUES ($1, $2, 'bulk_retry', $3, $4, $5, $6, $7, $8) RETURNING *`,
          [
            job.id,
            job.accountId,
            total === 0 ? 'completed' : 'running',
            JSON.stringify(job.params),
            total,
            job.createdAt,
            total === 0 ? job.createdAt : null,
            job.filter.tenantId ?? null,
          ],
        );
        return withCounts(c, inserted.rows[0] as Database['jobs']);
      });
    },
    async getJob(accountId, id) {
      const result = await pool.query<Database['jobs']>('SELECT * FROM jobs WHERE account_id = $1 AND id = $2', [
        accountId,
        id,
      ]);
      const row = result.rows[0];
      return row && withCounts(pool, row);
    },
    async claimRunningJob({ now, leaseMs, owner }) {
      // Uses jobs_running; SKIP LOCKED so two workers claiming at once take different jobs (or none).
      const result = await pool.query<Database['jobs']>(
        `UPDATE jobs SET lease_owner = $1, lease_until = $2
         WHERE id = (SELECT id FROM jobs WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= $3)
                     ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [owner, now + leaseMs, now],
      );
      const row = result.rows[0];
      return row && withCounts(pool, row);
    },
    async renewJobLease(jobId, owner, leaseUntil) {
      const result = await pool.query(
        `UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'`,
        [leaseUntil, jobId, owner],
      );
      return (result.rowCount ?? 0) > 0;
    },
    async releaseJobLease(jobId, owner) {
      await pool.query('UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2', [
        jobId,
        owner,
      ]);
    },
    async takeOpenJobItems(jobId, afterDeliveryId, limit, now) {
      // One statement: the CTE reads the open items (primary key range job_id, delivery_id > cursor)
      // as they were before the UPDATE marks them started.
      const result = await pool.query<{
        delivery_id: string;
        started_at: number | null;
        delivery_status: string;
        endpoint_deleted: boolean;
      }>(
        `WITH open AS (
           SELECT i.delivery_id, i.started_at, d.status AS delivery_status,
                  (e.id IS NULL OR e.deleted_at IS NOT NULL) AS endpoint_deleted
           FROM job_items i
           JOIN deliveries d ON d.id = i.delivery_id
           LEFT JOIN endpoints e ON e.id = d.endpoint_id
           WHERE i.job_id = $1 AND i.outcome IS NULL AND i.delivery_id > $2
           ORDER BY i.delivery_id LIMIT $3
         ), marked AS (
           UPDATE job_items SET started_at = $4
           WHERE job_id = $1 AND started_at IS NULL AND delivery_id IN (SELECT delivery_id FROM open)
         )
         SELECT * FROM open ORDER BY delivery_id`,
        [jobId, afterDeliveryId, limit, now],
      );
      return result.rows.map(
        (r): OpenJobItem => ({
          deliveryId: r.delivery_id,
          startedAt: r.started_at === null ? null : Number(r.started_at),
          deliveryStatus: r.delivery_status as DeliveryStatus,
          endpointDeleted: r.endpoint_deleted,
        }),
      );
    },
    async recordJobItemOutcomes(results, at) {
      if (results.length === 0) return;
      await inTransaction(async (c) => {
        await c.query(
          `UPDATE job_items AS i SET outcome = r.outcome, finished_at = $1
           FROM unnest($2::text[], $3::text[], $4::text[]) AS r(job_id, delivery_id, outcome)
           WHERE i.job_id = r.job_id AND i.delivery_id = r.delivery_id AND i.outcome IS NULL`,
          [at, results.map((r) => r.jobId), results.map((r) => r.deliveryId), results.map((r) => r.outcome)],
        );
        // The NOT EXISTS uses job_items_open.
        await c.query(
          `UPDATE jobs SET state = 'completed', finished_at = $1, lease_owner = NULL, lease_until = NULL
           WHERE id = ANY($2::text[]) AND state = 'running'
             AND NOT EXISTS (SELECT 1 FROM job_items WHERE job_id = jobs.id AND outcome IS NULL)`,
          [at, [...new Set(results.map((r) => r.jobId))]],
        );
      });
    },

    async recordConnectionSync(report) {
      return recordConnectionSync(pool, report);
    },
  };
}

/** One statement for every status; see Store.recordConnectionSync for the rules. Also used inside publish. */
export async function recordConnectionSync(q: Queryable, report: ConnectionSyncReport): Promise<ConnectionRecord> {
  const result = await q.query<Database['connections']>(
    `INSERT INTO connections (account_id, id, status, last_successful_sync_at, last_error,
       next_scheduled_sync_at, sync_started_at, created_at, updated_at)
     VALUES ($1, $2, $3,
       CASE WHEN $3 = 'completed' THEN $4::int8 END,
       CASE WHEN $3 = 'failed' THEN $5::text END,
       $6::int8,
       CASE WHEN $3 = 'started' THEN $4::int8 END,
       $4, $4)
     ON CONFLICT (account_id, id) DO UPDATE SET
       status = EXCLUDED.status,
       last_successful_sync_at = CASE WHEN EXCLUDED.status = 'completed' THEN EXCLUDED.updated_at
                                      ELSE connections.last_successful_sync_at END,
       last_error = CASE EXCLUDED.status WHEN 'completed' THEN NULL
                                         WHEN 'failed' THEN EXCLUDED.last_error
                                         ELSE connections.last_error END,
       next_scheduled_sync_at = CASE WHEN $7 THEN EXCLUDED.next_scheduled_sync_at
                                     ELSE connections.next_scheduled_sync_at END,
       sync_started_at = CASE WHEN EXCLUDED.status = 'started' THEN EXCLUDED.updated_at
                              ELSE connections.sync_started_at END,
       updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [
      report.accountId,
      report.connectionId,
      report.status,
      report.at,
      report.error,
      report.nextScheduledAt ?? null,
      report.nextScheduledAt !== undefined,
    ],
  );
  const row = result.rows[0] as Database['connections'];
  if (report.tenantId && row.tenant_id === null) {
    // A connection takes the tenant of the first report that names one, and keeps it.
    const tenanted = await q.query<Database['connections']>(
      `UPDATE connections SET tenant_id = $1 WHERE account_id = $2 AND id = $3 AND tenant_id IS NULL RETURNING *`,
      [report.tenantId, report.accountId, report.connectionId],
    );
    return connectionFromRow(tenanted.rows[0] ?? row);
  }
  return connectionFromRow(row);
}
