import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';

describe('built-in event types and their schemas', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald();
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists every built-in type with the JSON Schema of its data', async () => {
    const response = await h.request('GET', '/v1/event-types');
    expect(response.status).toBe(200);
    const names = response.body.data.map((t: { name: string }) => t.name);
    expect(names).toEqual([
      'sync.completed',
      'sync.failed',
      'connection.auth_required',
      'connection.status_changed',
      'system.error',
      'endpoint.disabled',
      'alert.triggered',
    ]);
    const completed = response.body.data[0];
    expect(completed.description).toMatch(/sync/);
    expect(completed.schema).toMatchObject({
      type: 'object',
      required: ['connection_id'],
      properties: { connection_id: { type: 'string' } },
    });
  });

  it('refuses a built-in type whose data does not match, naming the field, and stores nothing', async () => {
    const missing = await h.request('POST', '/v1/events', { type: 'sync.completed', data: { rows: 3 } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'INVALID_REQUEST', type: 'invalid_request_error' });
    expect(missing.body.error.message).toBe('data.connection_id: is required.');

    const wrongType = await h.request('POST', '/v1/events', {
      type: 'system.error',
      data: { message: 42 },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.message).toBe('data.message: must be a string.');

    const badTime = await h.request('POST', '/v1/events', {
      type: 'sync.failed',
      data: { connection_id: 'con_1', failed_at: 'yesterday' },
    });
    expect(badTime.status).toBe(400);
    expect(badTime.body.error.message).toMatch(/^data\.failed_at: /);

    expect((await h.request('GET', '/v1/events')).body.data).toEqual([]);
  });

  it('accepts matching data with extra fields, and any data for a producer’s own type', async () => {
    const ok = await h.request('POST', '/v1/events', {
      type: 'connection.status_changed',
      connection_id: 'con_1',
      data: { connection_id: 'con_1', status: 'paused', previous_status: 'active', by: 'user_7' },
    });
    expect(ok.status).toBe(202);
    const own = await h.request('POST', '/v1/events', { type: 'invoice.paid', data: { anything: [1, 2] } });
    expect(own.status).toBe(202);
    const feed = await h.request('GET', '/v1/events');
    expect(feed.body.data.map((e: { type: string }) => e.type)).toEqual(['connection.status_changed', 'invoice.paid']);
  });
});
