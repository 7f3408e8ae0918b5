import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver, until } from './harness.js';

const TOKEN = 'Bearer tok_receiver_credential_7f3a9c';
const PASSWORD = 'pw_in_the_url_51c2e8';

describe("an endpoint's header values and URL credentials are secrets, like its signing secret", () => {
  let h: TestHerald;
  let receiver: TestReceiver;
  let id: string;
  let readKey: string;
  beforeAll(async () => {
    h = await startTestHerald();
    receiver = await startTestReceiver();
    const created = await h.request('POST', '/v1/endpoints', {
      url: receiver.url.replace('http://', `http://hook-user:${PASSWORD}@`),
      headers: { authorization: TOKEN, 'x-tenant': 'acme' },
    });
    expect(created.status).toBe(201);
    id = created.body.id;
    readKey = (await h.request('POST', '/v1/api-keys', { role: 'read' })).body.key;
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('keeps them out of the database file’s bytes, and still sends them', async () => {
    await h.request('PATCH', `/v1/endpoints/${id}`, { headers: { authorization: TOKEN, 'x-tenant': 'acme' } });
    const db = h.config.db;
    const bytes = Buffer.concat([db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f)));
    expect(bytes.includes(Buffer.from(TOKEN))).toBe(false);
    expect(bytes.includes(Buffer.from(PASSWORD))).toBe(false);
    const raw = openSqliteStore(db).database;
    const stored = raw.prepare('SELECT url, headers FROM endpoints WHERE id = ?').get(id) as Record<string, string>;
    raw.close();
    expect(stored.url).toMatch(/^enc:v1:/);
    expect(stored.headers).toMatch(/^enc:v1:/);

    expect((await h.request('POST', '/v1/events', { type: 'order.created', data: {} })).status).toBe(202);
    await until(
      async () => receiver.requests.length,
      (n) => n > 0,
      'the delivery',
    );
    expect(receiver.requests[0]?.headers.authorization).toBe(TOKEN);
  });

  it('shows a read key the header names and the URL without their values; an admin sees them', async () => {
    const asRead = await h.request('GET', `/v1/endpoints/${id}`, undefined, { key: readKey });
    expect(asRead.status).toBe(200);
    expect(asRead.body.headers).toEqual({ authorization: '[redacted]', 'x-tenant': '[redacted]' });
    expect(asRead.body.url).toBe(receiver.url.replace('http://', 'http://***:***@'));
    const listed = await h.request('GET', '/v1/endpoints', undefined, { key: readKey });
    expect(JSON.stringify(listed.body)).not.toContain(PASSWORD);
    expect(JSON.stringify(listed.body)).not.toContain(TOKEN);

    const asAdmin = await h.request('GET', `/v1/endpoints/${id}`);
    expect(asAdmin.body.headers).toEqual({ authorization: TOKEN, 'x-tenant': 'acme' });
    expect(asAdmin.body.url).toContain(`hook-user:${PASSWORD}@`);
  });

  it('keeps the URL credentials out of the endpoint.disabled event, which read keys and receivers see', async () => {
    const gone = await startTestReceiver(() => ({ status: 410 }));
    try {
      const url = gone.url.replace('http://', `http://hook-user:${PASSWORD}@`);
      const made = await h.request('POST', '/v1/endpoints', { url, event_types: ['gone.test'] });
      await h.request('POST', '/v1/events', { type: 'gone.test', data: {} });
      const feed = await until(
        () => h.request('GET', '/v1/events?type=endpoint.disabled'),
        (r) => r.body.data.some((e: { data: { endpoint_id: string } }) => e.data.endpoint_id === made.body.id),
        'endpoint.disabled',
      );
      const event = feed.body.data.find((e: { data: { endpoint_id: string } }) => e.data.endpoint_id === made.body.id);
      expect(event.data.url).toBe(gone.url.replace('http://', 'http://***:***@'));
    } finally {
      await gone.close();
    }
  });
});
