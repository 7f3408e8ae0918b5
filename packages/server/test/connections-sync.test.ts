import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventDataIssues } from '../src/event-types.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver } from './harness.js';

describe('connections: sync reports, sync status and their events', () => {
  let h: TestHerald;
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver();
    h = await startTestHerald();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('moves the sync status with each report and publishes sync.completed / sync.failed', async () => {
    // An endpoint that only hears about this connection's syncs.
    const ep = await h.request('POST', '/v1/endpoints', {
      url: receiver.url,
      event_types: ['sync.completed', 'sync.failed'],
      connection_ids: ['con_crm_42'],
    });
    expect(ep.status).toBe(201);
    expect((await h.request('GET', '/v1/connections/con_crm_42/sync-status')).status).toBe(404);

    const started = await h.request('POST', '/v1/connections/con_crm_42/syncs', {
      status: 'started',
      next_scheduled_at: '2030-01-01T00:00:00Z',
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      connection_id: 'con_crm_42',
      status: 'started',
      last_successful_sync_at: null,
      last_error: null,
      next_scheduled_sync_at: '2030-01-01T00:00:00.000Z',
      event_id: null,
    });

    const failed = await h.request('POST', '/v1/connections/con_crm_42/syncs', {
      status: 'failed',
      error: 'token expired',
    });
    expect(failed.status).toBe(202);
    expect(failed.body).toMatchObject({ status: 'failed', last_error: 'token expired', last_successful_sync_at: null });
    expect(failed.body.event_id).toMatch(/^evt_/);

    const completed = await h.request('POST', '/v1/connections/con_crm_42/syncs', {
      status: 'completed',
      next_scheduled_at: '2030-01-02T00:00:00Z',
    });
    expect(completed.status).toBe(202);
    expect(completed.body).toMatchObject({
      status: 'completed',
      last_error: null,
      next_scheduled_sync_at: '2030-01-02T00:00:00.000Z',
    });
    expect(Date.parse(completed.body.last_successful_sync_at)).toBeGreaterThan(0);

    const status = await h.request('GET', '/v1/connections/con_crm_42/sync-status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      connection_id: 'con_crm_42',
      status: 'completed',
      last_successful_sync_at: completed.body.last_successful_sync_at,
      last_error: null,
      next_scheduled_sync_at: '2030-01-02T00:00:00.000Z',
    });

    // The two events are in the feed, in order, with the details, and match their own schemas.
    const feed = await h.request('GET', '/v1/events?connection_id=con_crm_42');
    expect(feed.body.data.map((e: { id: string }) => e.id)).toEqual([failed.body.event_id, completed.body.event_id]);
    const [failedEvent, completedEvent] = feed.body.data;
    expect(failedEvent).toMatchObject({
      type: 'sync.failed',
      connection_id: 'con_crm_42',
      data: {
        connection_id: 'con_crm_42',
        status: 'failed',
        error: 'token expired',
        next_scheduled_at: '2030-01-01T00:00:00.000Z',
      },
    });
    expect(Date.parse(failedEvent.data.started_at)).toBeGreaterThan(0);
    expect(completedEvent).toMatchObject({
      type: 'sync.completed',
      data: {
        connection_id: 'con_crm_42',
        status: 'completed',
        started_at: null,
        next_scheduled_at: '2030-01-02T00:00:00.000Z',
      },
    });
    for (const e of feed.body.data) expect(eventDataIssues(e.type, e.data)).toEqual([]);

    // They fan out like any event: the endpoint gets both, with sequences 1 and 2.
    const sent = await receiver.waitFor(2);
    const bodies = sent.map((r) => JSON.parse(r.body.toString()));
    expect(bodies.map((b) => [b.type, b.sequence, b.endpoint_id])).toEqual([
      ['sync.failed', 1, ep.body.id],
      ['sync.completed', 2, ep.body.id],
    ]);
  });

  it('replays a report sent twice with one Idempotency-Key, and refuses bad reports naming the field', async () => {
    const headers = { 'idempotency-key': 'sync-con_b-1' };
    const first = await h.request('POST', '/v1/connections/con_b/syncs', { status: 'completed' }, { headers });
    const again = await h.request('POST', '/v1/connections/con_b/syncs', { status: 'completed' }, { headers });
    expect(again.status).toBe(202);
    expect(again.body.event_id).toBe(first.body.event_id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const events = await h.request('GET', '/v1/events?connection_id=con_b');
    expect(events.body.data).toHaveLength(1);

    const badStatus = await h.request('POST', '/v1/connections/con_b/syncs', { status: 'done' });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.message).toMatch(/^status: must be one of/);
    const badTime = await h.request('POST', '/v1/connections/con_b/syncs', {
      status: 'completed',
      next_scheduled_at: 'tomorrow',
    });
    expect(badTime.status).toBe(400);
    expect(badTime.body.error.message).toMatch(/^next_scheduled_at: /);
    // Nothing of the refused reports was kept.
    expect((await h.request('GET', '/v1/events?connection_id=con_b')).body.data).toHaveLength(1);
  });

  it('lists connections with their sync status, a page at a time', async () => {
    for (const id of ['con_l1', 'con_l2', 'con_l3']) {
      expect((await h.request('POST', `/v1/connections/${id}/syncs`, { status: 'started' })).status).toBe(202);
    }
    const all: Array<{ connection_id: string; status: string }> = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const response = await h.request('GET', `/v1/connections?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      all.push(...response.body.data);
      if (!response.body.next_cursor) break;
      cursor = response.body.next_cursor;
    }
    expect(all.map((c) => c.connection_id)).toEqual(['con_b', 'con_crm_42', 'con_l1', 'con_l2', 'con_l3']);
    expect(all.find((c) => c.connection_id === 'con_l1')).toMatchObject({
      status: 'started',
      last_successful_sync_at: null,
      last_error: null,
      next_scheduled_sync_at: null,
    });
  });
});
