import { isValidSecret, newId } from '@herald/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyRecord, generateApiKey, hashApiKey } from '../src/api-keys.js';
import { startTestHerald, type TestHerald } from './harness.js';

describe('managing endpoints', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({}, 'api');
  });
  afterAll(() => h.close());

  it('creates, reads, lists, patches and deletes an endpoint', async () => {
    const created = await h.request('POST', '/v1/endpoints', {
      url: 'https://hooks.example.com/herald',
      description: 'orders',
      event_types: ['order.created', 'order.paid'],
      connection_ids: ['con_1'],
      headers: { 'X-Tenant': 'acme' },
      rate_limit_per_s: 20,
    });
    expect(created.status).toBe(201);
    const ep = created.body;
    expect(ep).toMatchObject({
      url: 'https://hooks.example.com/herald',
      description: 'orders',
      event_types: ['order.created', 'order.paid'],
      connection_ids: ['con_1'],
      signature_scheme: 'standard-webhooks',
      headers: { 'x-tenant': 'acme' },
      rate_limit_per_s: 20,
      disabled: false,
    });
    expect(ep.id).toMatch(/^ep_/);
    expect(isValidSecret(ep.secret)).toBe(true);
    expect(ep.secret).toMatch(/^whsec_/);
    expect(new Date(ep.created_at).toISOString()).toBe(ep.created_at);

    // The secret is shown on create; reads leave it out.
    const read = await h.request('GET', `/v1/endpoints/${ep.id}`);
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    const { secret: _secret, ...withoutSecret } = ep;
    expect(read.body).toEqual(withoutSecret);

    const list = await h.request('GET', '/v1/endpoints');
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(ep.id);
    expect(list.body).toHaveProperty('next_cursor');

    const patched = await h.request('PATCH', `/v1/endpoints/${ep.id}`, {
      event_types: [],
      signature_scheme: 'hmac-sha256',
      rate_limit_per_s: null,
      disabled: true,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      event_types: [],
      signature_scheme: 'hmac-sha256',
      rate_limit_per_s: null,
      disabled: true,
      url: 'https://hooks.example.com/herald',
    });
    expect((await h.request('PATCH', `/v1/endpoints/${ep.id}`, { disabled: false })).body.disabled).toBe(false);

    const deleted = await h.request('DELETE', `/v1/endpoints/${ep.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: ep.id, deleted: true });
    expect((await h.request('GET', `/v1/endpoints/${ep.id}`)).status).toBe(404);
    expect((await h.request('DELETE', `/v1/endpoints/${ep.id}`)).status).toBe(404);
  });

  it('keeps a secret the caller chose, and reveals it to admins only', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const ep = (await h.request('POST', '/v1/endpoints', { url: 'https://example.com/a', secret })).body;
    expect(ep.secret).toBe(secret);
    const revealed = await h.request('GET', `/v1/endpoints/${ep.id}/secret`);
    expect(revealed.status).toBe(200);
    expect(revealed.body.secret).toBe(secret);
    const read = (await h.request('POST', '/v1/api-keys', { role: 'read' })).body.key;
    expect((await h.request('GET', `/v1/endpoints/${ep.id}`, undefined, { key: read })).status).toBe(200);
    expect((await h.request('GET', `/v1/endpoints/${ep.id}/secret`, undefined, { key: read })).status).toBe(403);
  });

  it('rotates a secret: a new one, with the old one signing beside it for 24 hours', async () => {
    const ep = (await h.request('POST', '/v1/endpoints', { url: 'https://example.com/r' })).body;
    const rotated = await h.request('POST', `/v1/endpoints/${ep.id}/secret/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(isValidSecret(rotated.body.secret)).toBe(true);
    const overlapEnds = Date.parse(rotated.body.previous_secret_expires_at) - Date.now();
    expect(overlapEnds).toBeGreaterThan(23.9 * 3600_000);
    expect(overlapEnds).toBeLessThanOrEqual(24 * 3600_000);
    const admin = await h.herald.store.findApiKeyByHash(hashApiKey(h.key));
    const stored = await h.herald.store.getEndpoint(admin?.accountId ?? '', ep.id);
    expect(stored?.secret).toBe(rotated.body.secret);
    expect(stored?.previousSecret).toBe(ep.secret);
  });

  it('pages through endpoints with a cursor', async () => {
    for (let i = 0; i < 5; i++) await h.request('POST', '/v1/endpoints', { url: `https://example.com/p${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Array<{ id: string }>; next_cursor: string | null } } = await h.request(
        'GET',
        `/v1/endpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((e) => e.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect([...seen].sort()).toEqual(seen);
  });
});

describe('two accounts on one server', () => {
  let h: TestHerald;
  const otherKey = generateApiKey();
  beforeAll(async () => {
    h = await startTestHerald({}, 'api');
    const now = Date.now();
    const account = newId('account', now);
    await h.herald.store.createAccount(account, now);
    await h.herald.store.createApiKey(apiKeyRecord(otherKey, account, 'admin', now));
  });
  afterAll(() => h.close());

  it('cannot see, change or publish to each other', async () => {
    const mine = (await h.request('POST', '/v1/endpoints', { url: 'https://example.com/mine' })).body;
    const published = (await h.request('POST', '/v1/events', { type: 'order.created', data: { n: 1 } })).body;
    expect(published.deliveries).toHaveLength(1);
    const as = { key: otherKey };

    for (const [method, path] of [
      ['GET', `/v1/endpoints/${mine.id}`],
      ['PATCH', `/v1/endpoints/${mine.id}`],
      ['DELETE', `/v1/endpoints/${mine.id}`],
      ['GET', `/v1/endpoints/${mine.id}/secret`],
      ['POST', `/v1/endpoints/${mine.id}/secret/rotate`],
      ['GET', `/v1/events/${published.id}`],
      ['GET', `/v1/deliveries/${published.deliveries[0]}`],
      ['GET', `/v1/events?endpoint_id=${mine.id}`],
    ] as const) {
      const r = await h.request(method, path, method === 'PATCH' ? { disabled: true } : undefined, as);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    expect((await h.request('GET', '/v1/endpoints', undefined, as)).body.data).toEqual([]);
    expect((await h.request('GET', '/v1/events', undefined, as)).body.data).toEqual([]);
    expect((await h.request('GET', '/v1/deliveries', undefined, as)).body.data).toEqual([]);
    const theirKeys = (await h.request('GET', '/v1/api-keys', undefined, as)).body.data;
    expect(theirKeys).toHaveLength(1);

    // Their publish reaches none of my endpoints.
    const theirs = await h.request('POST', '/v1/events', { type: 'order.created', data: {} }, as);
    expect(theirs.status).toBe(202);
    expect(theirs.body.deliveries).toEqual([]);
    // And my endpoint is untouched.
    expect((await h.request('GET', `/v1/endpoints/${mine.id}`)).body.disabled).toBe(false);
  });

  it('cannot revoke the last admin key of an account', async () => {
    const keys = (await h.request('GET', '/v1/api-keys', undefined, { key: otherKey })).body.data;
    const r = await h.request('DELETE', `/v1/api-keys/${keys[0].id}`, undefined, { key: otherKey });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^id:/);
  });
});
