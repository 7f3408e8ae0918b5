import { newId } from '@herald/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres.js';
import { findPostgres, testSchema } from './pg-database.js';
import { newEndpoint, storeSuite } from './store-suite.js';

const pgUrl = await findPostgres();

if (pgUrl === null) {
  describe.skip('PostgreSQL store (no PostgreSQL reachable)', () => it('runs the shared suite', () => {}));
} else {
  storeSuite('PostgreSQL', async () => {
    const schema = testSchema(pgUrl);
    const store = await openPostgresStore(schema.url);
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  });
}

describe.skipIf(pgUrl === null)('PostgreSQL endpoint leases under concurrent claims', () => {
  const t0 = Date.parse('2026-11-27T06:00:00.000Z');
  const account = 'acct_01JDLEASES00000000000000000';
  let store: PostgresStore;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    const schema = testSchema(pgUrl as string);
    store = await openPostgresStore(schema.url);
    drop = schema.drop;
    await store.createAccount(account, t0);
  });
  afterEach(async () => {
    await store.close();
    await drop();
  });

  async function endpointWith(deliveries: number): Promise<string> {
    const ep = await store.createEndpoint(
      newEndpoint({ accountId: account, eventTypes: [`only.${deliveries}`], createdAt: t0 }),
    );
    const events = Array.from({ length: deliveries }, () => ({
      accountId: account,
      id: newId('event'),
      type: `only.${deliveries}`,
      occurredAt: t0,
      connectionId: null,
      data: {},
      createdAt: t0,
    }));
    await store.publish(events);
    return ep.id;
  }

  const claim = (id: string, now: number) =>
    store.claimDueDeliveries({ now, limit: 10, leaseMs: 60_000, claimant: { id, releaseEndpointIds: [] } });

  it('gives back what it claimed for an endpoint that another claimant leased meanwhile', async () => {
    const x = await endpointWith(2);
    // B's claim is mid-transaction: it has written X's lease and not committed, so A's SELECT does
    // not see it, claims X's deliveries, and then waits on B's row when it writes its own lease.
    const b = await store.pool.connect();
    try {
      await b.query('BEGIN');
      await b.query(`INSERT INTO endpoint_leases VALUES ($1, 'B', $2)`, [x, t0 + 60_000]);
      const a = claim('A', t0);
      await new Promise((r) => setTimeout(r, 300));
      await b.query('COMMIT');
      // B won X: A gets nothing, and the two deliveries are due as they were, not leased to nobody.
      expect(await a).toHaveLength(0);
    } finally {
      b.release();
    }
    const due = await store.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1`,
      [t0],
    );
    expect(due.rows[0]?.n).toBe(2);
  });
});
