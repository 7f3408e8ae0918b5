import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CLAIM_SQL, openPostgresStore } from '../src/store/postgres.js';
import { findPostgres, testSchema } from './pg-database.js';

const pgUrl = await findPostgres();

describe.skipIf(pgUrl === null)('claiming on PostgreSQL with a long history', () => {
  it('stays on the partial index deliveries_due with 1,000,000 delivered rows and 100,000 pending', {
    timeout: 120_000,
  }, async () => {
    const schema = testSchema(pgUrl as string);
    const store = await openPostgresStore(schema.url);
    try {
      const now = Date.parse('2026-11-27T06:00:00.000Z');
      await store.createAccount('acct_plan', 0);
      // Unlogged: the rows are generated for the plan only; it does not change what the planner picks.
      // A connection without the store's statement timeout: generating the rows takes a while.
      const bulk = new pg.Client({ connectionString: pgUrl as string, options: `-c search_path=${schema.schema}` });
      await bulk.connect();
      await bulk.query('ALTER TABLE deliveries SET UNLOGGED');
      await bulk.query(
        `INSERT INTO deliveries (id, account_id, event_id, endpoint_id, status, sequence, attempt_count,
             next_attempt_at, created_at, updated_at)
           SELECT 'dlv_' || lpad(g::text, 10, '0'), 'acct_plan', 'evt_' || g, 'ep_' || (g % 100),
             CASE WHEN g <= 1000000 THEN 'succeeded' ELSE 'pending' END, g, 1,
             CASE WHEN g <= 1000000 THEN NULL ELSE $1::int8 - (g % 1000) END, $1::int8, $1::int8
           FROM generate_series(1, 1100000) AS g`,
        [now],
      );
      await bulk.query('ANALYZE deliveries');
      await bulk.end();
      // The claim itself, as the store runs it, with a lease held by another worker.
      await store.pool.query(`INSERT INTO endpoint_leases VALUES ('ep_2', 'another-worker', $1)`, [now + 60_000]);
      const plan = await store.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${CLAIM_SQL}`, [
        now + 60_000,
        now,
        ['ep_1'],
        500,
        'this-worker',
        'a-claim',
      ]);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toContain('Index Scan using deliveries_due');
      expect(text).not.toContain('Seq Scan on deliveries');

      const began = performance.now();
      const claimed = await store.claimDueDeliveries({ now, limit: 500, leaseMs: 60_000 });
      const ms = performance.now() - began;
      expect(claimed).toHaveLength(500);
      console.log(`claim of 500 beside 1,000,000 delivered and 100,000 pending rows: ${ms.toFixed(1)} ms\n${text}`);
    } finally {
      await store.close();
      await schema.drop();
    }
  });
});
