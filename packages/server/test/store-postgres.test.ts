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

describe.skipIf(pgUrl === null)('PostgreSQL endpoint leases', () => {
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

  const claim = (id: string, now: number, activeEndpointIds: string[] = [], limit = 10) =>
    store.claimDueDeliveries({ now, limit, leaseMs: 60_000, claimant: { id, activeEndpointIds } });
  const endpointsOf = (claimed: Awaited<ReturnType<typeof claim>>) => new Set(claimed.map((c) => c.endpoint.id));

  it("hands an endpoint's deliveries to one claimant at a time, until it lets go or its lease ends", async () => {
    const x = await endpointWith(3);
    const y = await endpointWith(4);
    // A takes two of X's three: X is A's now.
    const a1 = await claim('A', t0, [], 2);
    expect(endpointsOf(a1)).toEqual(new Set([x]));
    // B gets none of X's, though one is due: only Y's.
    const b1 = await claim('B', t0, []);
    expect(endpointsOf(b1)).toEqual(new Set([y]));
    expect(b1).toHaveLength(4);
    // A, still busy with X, claims again and gets X's last one.
    const a2 = await claim('A', t0 + 1, [x]);
    expect(a2.map((c) => c.endpoint.id)).toEqual([x]);

    // More of X come due: B may not take them while A holds X; A does.
    const publishX = () =>
      store.publish([
        {
          accountId: account,
          id: newId('event'),
          type: 'only.3',
          occurredAt: t0,
          connectionId: null,
          data: {},
          createdAt: t0,
        },
      ]);
    await publishX();
    expect(await claim('B', t0 + 2, [y])).toHaveLength(0);
    expect((await claim('A', t0 + 3, [x])).map((c) => c.endpoint.id)).toEqual([x]);
    // A is done with X (not in its active list): its next claim lets go, and B gets X's next work.
    expect(await claim('A', t0 + 4, [])).toHaveLength(0);
    await publishX();
    const b2 = await claim('B', t0 + 5, [y]);
    expect(b2.map((c) => c.endpoint.id)).toEqual([x]);
    const leases = await store.pool.query('SELECT endpoint_id, owner FROM endpoint_leases ORDER BY owner, endpoint_id');
    expect(leases.rows).toEqual(
      [
        { endpoint_id: x, owner: 'B' },
        { endpoint_id: y, owner: 'B' },
      ].sort((p, q) => (p.endpoint_id < q.endpoint_id ? -1 : 1)),
    );

    // B dies holding X and Y. After the lease, their deliveries (claimed and never recorded) go to C.
    expect(await claim('C', t0 + 59_000)).toHaveLength(0);
    const c1 = await claim('C', t0 + 60_010);
    expect(endpointsOf(c1)).toEqual(new Set([x, y]));
    // A stopping worker lets go of everything at once.
    await store.releaseEndpointLeases('C');
    expect((await store.pool.query('SELECT * FROM endpoint_leases')).rows).toEqual([]);
  });

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
