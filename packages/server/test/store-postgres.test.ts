import { newId } from '@herald/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  endpointsOfNotification,
  notificationOf,
  openPostgresStore,
  type PostgresStore,
} from '../src/store/postgres.js';
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

describe('the publish notification (LISTEN/NOTIFY)', () => {
  it('carries the endpoints made due, or only the schema when they would not fit', () => {
    expect(endpointsOfNotification('s1', notificationOf('s1', ['ep_a', 'ep_b']))).toEqual(['ep_a', 'ep_b']);
    expect(endpointsOfNotification('s1', 's1')).toBeUndefined();
    expect(endpointsOfNotification('s1', notificationOf('s2', ['ep_a']))).toBeNull();
    const many = Array.from({ length: 400 }, (_, i) => `ep_01JDNOTIFY${String(i).padStart(16, '0')}`);
    expect(notificationOf('s1', many)).toBe('s1');
  });

  it.skipIf(pgUrl === null)(
    'tells another process which endpoints a publish made due, and nothing for an open circuit',
    async () => {
      const t0 = Date.parse('2026-11-27T06:00:00.000Z');
      const account = 'acct_01JDNOTIFY0000000000000000';
      const schema = testSchema(pgUrl as string);
      const publisher = await openPostgresStore(schema.url);
      const listener = await openPostgresStore(schema.url);
      try {
        await publisher.createAccount(account, t0);
        const tripped = await publisher.createEndpoint(
          newEndpoint({ accountId: account, eventTypes: ['a.tripped'], createdAt: t0 }),
        );
        const open = await publisher.createEndpoint(
          newEndpoint({ accountId: account, eventTypes: ['a.open'], createdAt: t0 }),
        );
        expect(await publisher.openCircuit(tripped.id, { at: t0, probeAt: t0 + 60_000 })).toBe(true);
        const heard: Array<readonly string[] | undefined> = [];
        let next: () => void = () => {};
        const unsubscribe = listener.onDeliveriesDue((ids) => {
          heard.push(ids);
          next();
        });
        const nextHeard = () => new Promise<void>((resolve) => (next = resolve));
        await nextHeard(); // the wake once LISTEN is in place: anything may be due
        expect(heard).toEqual([undefined]);
        const event = (type: string) => ({
          accountId: account,
          id: newId('event'),
          type,
          occurredAt: t0,
          connectionId: null,
          data: {},
          createdAt: t0 + 1,
        });
        const heardNext = nextHeard();
        await publisher.publish([event('a.tripped')]); // nothing due: no notification
        await publisher.publish([event('a.open')]);
        await heardNext;
        expect(heard).toEqual([undefined, [open.id]]);
        unsubscribe();
      } finally {
        await listener.close();
        await publisher.close();
        await schema.drop();
      }
    },
  );
});
