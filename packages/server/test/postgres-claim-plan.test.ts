import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CIRCUIT_CHUNK, EXPIRE_DUE, REDATE_SCHEDULED, RESUME_PARKED } from '../src/store/circuit-sql.js';
import { CLAIM_OF_ENDPOINTS, DUE_ENDPOINTS } from '../src/store/claim-sql.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { findPostgres, testSchema } from './pg-database.js';
import { newEndpoint } from './store-suite.js';

const pgUrl = await findPostgres();

describe.skipIf(pgUrl === null)('claiming on PostgreSQL with a long history', () => {
  it('probes deliveries_endpoint_due per endpoint with 1,000,000 delivered rows and 100,000 pending, reading none of a left-out endpoint', {
    timeout: 120_000,
  }, async () => {
    const schema = testSchema(pgUrl as string);
    const store = await openPostgresStore(schema.url);
    try {
      const now = Date.parse('2026-11-27T06:00:00.000Z');
      await store.createAccount('acct_plan', 0);
      for (let i = 0; i < 100; i++) await store.createEndpoint(newEndpoint({ accountId: 'acct_plan', id: `ep_${i}` }));
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
      // The claim's statements, as the store runs them, with a lease held by another worker.
      await store.pool.query(`INSERT INTO endpoint_leases VALUES ('ep_2', 'another-worker', $1)`, [now + 60_000]);
      const explain = async (sql: string, params: unknown[]) =>
        (await store.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      const endpoints = await explain(DUE_ENDPOINTS.postgres, [now, ['ep_1'], 'this-worker', 500]);
      const shares = await explain(CLAIM_OF_ENDPOINTS.postgres, [
        now + 60_000,
        now,
        ['ep_3', 'ep_4'],
        [250, 250],
        'a-claim',
      ]);
      // Each endpoint is one probe of its own range: a left-out endpoint's rows are never walked.
      expect(endpoints).toMatch(/Index (Only )?Scan using deliveries_endpoint_due/);
      expect(endpoints).toContain('Index Cond: ((endpoint_id = e.id)');
      expect(shares).toMatch(/Index (Only )?Scan using deliveries_endpoint_due/);
      expect(shares).toContain('Index Scan using deliveries_pkey on deliveries d');
      const text = `${endpoints}\n${shares}`;
      expect(text).not.toContain('Seq Scan on deliveries');

      // The circuit's writes on the same table: each a range of one endpoint's index entries, bounded
      // (the retries scheduled ahead, a chunk), never a walk of the table.
      const circuit = [
        await explain(REDATE_SCHEDULED.postgres, [now, 'ep_3']),
        await explain(EXPIRE_DUE.postgres, ['reason', now, 'ep_3', now - 86_400_000, CIRCUIT_CHUNK]),
        await explain(RESUME_PARKED.postgres, [now, 'ep_3', CIRCUIT_CHUNK]),
      ];
      expect(circuit[0]).toMatch(/Index (Only )?Scan using deliveries_endpoint_due/);
      expect(circuit[1]).toMatch(/Index (Only )?Scan using deliveries_endpoint_due/);
      expect(circuit[1]).toContain('Index Scan using deliveries_pkey');
      // (A bitmap scan here: with no waiting rows the planner expects few; an index scan in order with many.)
      expect(circuit[2]).toMatch(/Scan (using|on) deliveries_waiting/);
      expect(circuit.join('\n')).not.toContain('Seq Scan on deliveries');

      const began = performance.now();
      const claimed = await store.claimDueDeliveries({
        now,
        limit: 500,
        leaseMs: 60_000,
        excludeEndpointIds: ['ep_1'],
        claimant: { id: 'this-worker', releaseEndpointIds: [] },
      });
      const ms = performance.now() - began;
      expect(claimed).toHaveLength(500);
      // Shared out between the 98 endpoints with due work, the left-out and leased ones not among them.
      const taken = new Set(claimed.map((c) => c.endpoint.id));
      expect(taken.has('ep_1') || taken.has('ep_2')).toBe(false);
      expect(taken.size).toBe(98);
      console.log(`claim of 500 beside 1,000,000 delivered and 100,000 pending rows: ${ms.toFixed(1)} ms\n${text}`);
    } finally {
      await store.close();
      await schema.drop();
    }
  });
});
