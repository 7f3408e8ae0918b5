import { manualClock, newId } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/api-keys.js';
import type { AlertRecord } from '../src/store/types.js';
import { type ApiResponse, startTestHerald, type TestHerald } from './harness.js';
import { findPostgres, testSchema } from './pg-database.js';

const pgUrl = await findPostgres();
const t0 = Date.parse('2030-01-01T10:00:00.000Z');
const HOUR = 60 * 60 * 1000;

/**
 * GET /v1/alerts and the overview's figures of GET /v1/stats/deliveries, past the 2,000 alerts and
 * pending deliveries the dashboard used to read, on each store (seeded through the store for speed).
 */
const stores: Array<[string, () => Promise<{ db?: string; drop(): Promise<void> }>]> = [
  ['SQLite', async () => ({ drop: async () => {} })],
  [
    'PostgreSQL',
    async () => {
      const schema = testSchema(pgUrl as string);
      return { db: schema.url, drop: () => schema.drop() };
    },
  ],
];

describe.each(stores)('the overview routes on %s', (name, database) => {
  const skip = name === 'PostgreSQL' && pgUrl === null;
  let h: TestHerald | undefined;
  let drop: () => Promise<void> = async () => {};
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await drop();
  });

  async function start() {
    const clock = manualClock(t0);
    const db = await database();
    drop = db.drop;
    // The API alone: nothing checks alerts or sends deliveries but the test.
    h = await startTestHerald(
      { clock, ...(db.db ? { db: db.db, secretKey: process.env.HERALD_SECRET_KEY } : {}) },
      'api',
    );
    const admin = await h.herald.store.findApiKeyByHash(hashApiKey(h.key));
    return { h, clock, accountId: admin?.accountId ?? '' };
  }

  it.skipIf(skip)(
    'GET /v1/alerts lists 2,100 open alerts and the recently resolved ones, newest first, page by page, to any key',
    async () => {
      const { h, clock, accountId } = await start();
      const alert = (i: number): AlertRecord => ({
        accountId,
        key: `endpoint_failure_rate:ep_${i}`,
        kind: 'endpoint_failure_rate',
        endpointId: `ep_${i}`,
        value: 0.8,
        threshold: 0.5,
        openedAt: t0 - 2 * 24 * HOUR + i * 1000,
        message: `${i} failed`,
        details: { attempts: 10, failures: 8, window_seconds: 900 },
      });
      const at = (ms: number) => ({
        accountId,
        id: newId('event', ms),
        type: 'alert.triggered',
        occurredAt: ms,
        connectionId: null,
        data: {},
        createdAt: ms,
      });
      for (let i = 0; i < 2_100; i++) await h.herald.store.openAlert(alert(i));
      // 0 resolved two hours ago (listed), 1 two days ago (no longer); a backlog alert opens last.
      await h.herald.store.closeAlert(accountId, alert(0).key, at(t0 - 2 * HOUR));
      await h.herald.store.closeAlert(accountId, alert(1).key, at(t0 - 2 * 24 * HOUR + 5_000));
      await h.herald.store.openAlert({
        accountId,
        key: 'delivery_backlog',
        kind: 'delivery_backlog',
        endpointId: null,
        value: 420,
        threshold: 300,
        openedAt: t0 - 1000,
        message: 'The oldest due delivery has waited 420 s.',
        details: { oldest_due_at: new Date(t0 - 421_000).toISOString() },
      });

      const first = await h.request('GET', '/v1/alerts?limit=5');
      expect(first.status).toBe(200);
      expect(first.body.data[0]).toEqual({
        id: expect.stringMatching(/^alrt_/),
        kind: 'delivery_backlog',
        endpoint_id: null,
        state: 'open',
        value: 420,
        threshold: 300,
        message: 'The oldest due delivery has waited 420 s.',
        details: { oldest_due_at: '2030-01-01T09:52:59.000Z' },
        opened_at: '2030-01-01T09:59:59.000Z',
        resolved_at: null,
      });
      expect(first.body.data[1]).toMatchObject({ kind: 'endpoint_failure_rate', endpoint_id: 'ep_2099' });
      expect(first.body.data[1].details).toEqual({ attempts: 10, failures: 8, window_seconds: 900 });

      const all: Array<{ id: string; endpoint_id: string | null; state: string; opened_at: string }> = [];
      let cursor: string | null = null;
      do {
        const page: ApiResponse = await h.request('GET', `/v1/alerts?limit=250${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        all.push(...page.body.data);
        cursor = page.body.next_cursor;
      } while (cursor);
      // 2,098 open failure-rate alerts, the backlog one, and 0 (resolved in the last 24 hours).
      expect(all).toHaveLength(2_100);
      expect(all.at(-1)).toMatchObject({
        endpoint_id: 'ep_0',
        state: 'resolved',
        resolved_at: '2030-01-01T08:00:00.000Z',
      });
      expect(all.some((a) => a.endpoint_id === 'ep_1')).toBe(false);
      expect(all.map((a) => a.opened_at)).toEqual(
        all
          .map((a) => a.opened_at)
          .sort()
          .reverse(),
      );

      const resolved = await h.request('GET', '/v1/alerts?state=resolved');
      expect(resolved.body.data.map((a: { endpoint_id: string }) => a.endpoint_id)).toEqual(['ep_0']);
      // A day later, 0 is out of the window too.
      clock.advance(24 * HOUR);
      expect((await h.request('GET', '/v1/alerts?state=resolved')).body).toEqual({ data: [], next_cursor: null });
      const open = await h.request('GET', '/v1/alerts?state=open&limit=250');
      expect(open.body.data).toHaveLength(250);
      expect(open.body.data.every((a: { state: string }) => a.state === 'open')).toBe(true);

      // Any key reads it; none does not; the query is checked.
      const read = (await h.request('POST', '/v1/api-keys', { role: 'read' })).body.key as string;
      expect((await h.request('GET', '/v1/alerts?limit=1', undefined, { key: read })).status).toBe(200);
      expect((await h.request('GET', '/v1/alerts', undefined, { key: null })).status).toBe(401);
      const bad = await h.request('GET', '/v1/alerts?state=closed');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_REQUEST');
    },
  );

  it.skipIf(skip)(
    'GET /v1/stats/deliveries gives the oldest due of 2,500 pending deliveries and the failing and disabled endpoint counts',
    async () => {
      const { h, accountId } = await start();
      const endpoint = async (url: string) => (await h.request('POST', '/v1/endpoints', { url })).body.id as string;
      const a = await endpoint('http://127.0.0.1:9/a');
      const b = await endpoint('http://127.0.0.1:9/b');
      await endpoint('http://127.0.0.1:9/c');
      // 2,500 events a second apart, the oldest 2 hours ago: 7,500 pending deliveries.
      const first = t0 - 2 * HOUR;
      for (let batch = 0; batch < 5; batch++) {
        await h.herald.store.publish(
          Array.from({ length: 500 }, (_, i) => {
            const ms = first + (batch * 500 + i) * 1000;
            return {
              accountId,
              id: newId('event', ms),
              type: 'order.created',
              occurredAt: ms,
              connectionId: null,
              data: {},
              createdAt: ms,
            };
          }),
        );
      }
      expect((await h.request('PATCH', `/v1/endpoints/${b}`, { disabled: true })).status).toBe(200);
      // One attempt to A failed: A is failing.
      const oldestOfA = (await h.herald.store.listDeliveries(accountId, { endpointId: a, limit: 10_000 })).data.at(-1);
      await h.herald.store.recordAttempts(
        [
          {
            attempt: {
              id: newId('attempt', t0),
              deliveryId: oldestOfA?.id ?? '',
              attemptNo: 1,
              startedAt: t0,
              durationMs: 5,
              requestHeaders: {},
              responseStatus: 500,
              responseHeaders: {},
              responseBody: '',
              error: 'http_status',
              manual: false,
            },
            // Not claimed: this test's deliveries were never handed to a dispatcher.
            claim: null,
            status: 'pending',
            nextAttemptAt: t0 + 60_000,
          },
        ],
        t0,
      );

      const stats = await h.request('GET', '/v1/stats/deliveries?since=2030-01-01T07:30:00.000Z&bucket_seconds=3600');
      expect(stats.status).toBe(200);
      // A's oldest waits a minute now; B is disabled: the oldest due is C's first.
      expect(stats.body).toMatchObject({
        oldest_due_at: new Date(first).toISOString(),
        failing_endpoints: 1,
        disabled_endpoints: 1,
      });
      const due = await h.request('GET', `/v1/deliveries/${stats.body.oldest_due_delivery_id}`);
      expect(due.body).toMatchObject({ status: 'pending', next_attempt_at: new Date(first).toISOString() });
      expect(due.body.endpoint_id).not.toBe(a);
      expect(due.body.endpoint_id).not.toBe(b);
    },
  );
});
