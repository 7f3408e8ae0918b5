import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ErrorBody } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/api/server.js';
import { apiKeyRecord, generateApiKey, hashApiKey } from '../src/api-keys.js';
import { makeConfig } from '../src/config.js';
import { createGroupCommit } from '../src/store/group-commit.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { type ApiResponse, startTestHerald, type TestHerald, tempDir } from './harness.js';

/** Every error of the API contract's table that the API can produce, each with its body and request id. */

function expectError(response: ApiResponse, status: number, code: string, type: string, field?: string) {
  expect(response.status).toBe(status);
  expect(response.body?.error?.code).toBe(code);
  expect(response.body.error.type).toBe(type);
  expect(typeof response.body.error.message).toBe('string');
  expect(response.body.error.message.length).toBeGreaterThan(0);
  if (field !== undefined)
    expect(response.body.error.message).toMatch(new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}:`));
  expect(response.body.error.request_id).toMatch(/^req_[0-9A-Z]{26}$/);
  expect(response.headers.get('x-request-id')).toBe(response.body.error.request_id);
  // No stack trace leaves the process.
  expect(JSON.stringify(response.body)).not.toMatch(/\n\s+at |\bat \S+ \(\S+:\d+:\d+\)|node:internal|\.[jt]s:\d+:\d+/);
}

describe('the error contract', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ allowPrivateNetworks: false, maxBodyBytes: 4096 }, 'api');
  });
  afterAll(() => h.close());

  it('answers malformed JSON with 400 INVALID_REQUEST naming the body', async () => {
    const r = await h.request('POST', '/v1/events', undefined, { rawBody: '{"type": "a.b", "data": {' });
    expectError(r, 400, 'INVALID_REQUEST', 'invalid_request_error', 'body');
  });

  it('names the field that fails the schema', async () => {
    expectError(
      await h.request('POST', '/v1/endpoints', { url: 42 }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'url',
    );
    const missing = await h.request('POST', '/v1/endpoints', {});
    expectError(missing, 400, 'INVALID_REQUEST', 'invalid_request_error', 'url');
    expect(missing.body.error.message).toBe('url: is required.');
    expectError(
      await h.request('POST', '/v1/events', { type: 'a.b', data: [1] }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'data',
    );
    expectError(
      await h.request('POST', '/v1/events', { type: 'Not A Type', data: {} }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'type',
    );
    expectError(
      await h.request('POST', '/v1/events', { type: 'a.b', data: {}, occurred_at: 'yesterday' }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'occurred_at',
    );
    expectError(
      await h.request('POST', '/v1/endpoints', { url: 'https://example.com', event_types: ['ok', 'NOT OK'] }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'event_types[1]',
    );
    expectError(
      await h.request('POST', '/v1/endpoints', { url: 'https://example.com', rate_limit_per_s: 'fast' }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'rate_limit_per_s',
    );
    expectError(
      await h.request('POST', '/v1/endpoints', { url: 'https://example.com', evnt_types: ['a'] }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'evnt_types',
    );
    expectError(
      await h.request('GET', '/v1/events?limit=251'),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'limit',
    );
    expectError(
      await h.request('GET', '/v1/deliveries?limit=0'),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'limit',
    );
    expectError(
      await h.request('GET', '/v1/deliveries?status=lost'),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'status',
    );
  });

  it('answers a body that is not JSON with 400 saying content-type must be application/json', async () => {
    const r = await h.request('POST', '/v1/events', undefined, {
      rawBody: 'type=a.b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(r, 400, 'INVALID_REQUEST', 'invalid_request_error', 'content-type');
    expect(r.body.error.message).toContain('application/json');
  });

  it('refuses endpoint URLs on private networks, naming url', async () => {
    for (const url of [
      'http://example.com/hook',
      'https://127.0.0.1/hook',
      'https://localhost:8080/hook',
      'https://10.1.2.3/',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/',
      'https://0x7f.1/',
      'ftp://example.com/',
      'not a url',
    ]) {
      const r = await h.request('POST', '/v1/endpoints', { url });
      expectError(r, 400, 'INVALID_REQUEST', 'invalid_request_error', 'url');
    }
  });

  it('refuses a bad secret and headers that could forge or break a request, naming them', async () => {
    const base = { url: 'https://example.com/hook' };
    expectError(
      await h.request('POST', '/v1/endpoints', { ...base, secret: 'whsec_c2hvcnQ=' }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'secret',
    );
    expectError(
      await h.request('POST', '/v1/endpoints', { ...base, headers: { 'X-Tenant': 'a\r\nx-evil: 1' } }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'headers.X-Tenant',
    );
    expectError(
      await h.request('POST', '/v1/endpoints', { ...base, headers: { 'Webhook-Signature': 'v1,forged' } }),
      400,
      'INVALID_REQUEST',
      'invalid_request_error',
      'headers.Webhook-Signature',
    );
  });

  it('answers 401 without a key, with an unknown key and with a revoked key', async () => {
    expectError(
      await h.request('GET', '/v1/endpoints', undefined, { key: null }),
      401,
      'AUTHENTICATION_FAILED',
      'authentication_error',
    );
    expectError(
      await h.request('GET', '/v1/endpoints', undefined, { key: 'hk_not_a_real_key' }),
      401,
      'AUTHENTICATION_FAILED',
      'authentication_error',
    );
    expectError(
      await h.request('GET', '/v1/endpoints', undefined, {
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
        key: null,
      }),
      401,
      'AUTHENTICATION_FAILED',
      'authentication_error',
    );
    const created = await h.request('POST', '/v1/api-keys', { role: 'admin' });
    expect(created.status).toBe(201);
    expect((await h.request('GET', '/v1/endpoints', undefined, { key: created.body.key })).status).toBe(200);
    expect((await h.request('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(200);
    expectError(
      await h.request('GET', '/v1/endpoints', undefined, { key: created.body.key }),
      401,
      'AUTHENTICATION_FAILED',
      'authentication_error',
    );
  });

  it('answers 403 when a read key writes or reaches an admin-only route', async () => {
    const read = await h.request('POST', '/v1/api-keys', { role: 'read' });
    expect(read.status).toBe(201);
    const key = read.body.key as string;
    expect((await h.request('GET', '/v1/endpoints', undefined, { key })).status).toBe(200);
    expectError(
      await h.request('POST', '/v1/events', { type: 'a.b', data: {} }, { key }),
      403,
      'PERMISSION_DENIED',
      'permission_error',
    );
    expectError(
      await h.request('GET', '/v1/api-keys', undefined, { key }),
      403,
      'PERMISSION_DENIED',
      'permission_error',
    );
    // Nothing was published by the refused request.
    expect((await h.request('GET', '/v1/events')).body.data).toEqual([]);
  });

  it('answers 404 for an unknown route and an unknown id', async () => {
    expectError(
      await h.request('GET', '/v2/nothing', undefined, { key: null }),
      404,
      'NOT_FOUND',
      'invalid_request_error',
    );
    expectError(await h.request('GET', '/v1/nothing'), 404, 'NOT_FOUND', 'invalid_request_error');
    expectError(await h.request('GET', '/v1/endpoints/ep_nope'), 404, 'NOT_FOUND', 'invalid_request_error');
    expectError(await h.request('GET', '/v1/deliveries/dlv_nope'), 404, 'NOT_FOUND', 'invalid_request_error');
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const r = await h.request('POST', '/v1/events', { type: 'a.b', data: { blob: 'x'.repeat(5000) } });
    expectError(r, 413, 'PAYLOAD_TOO_LARGE', 'invalid_request_error');
    expect((await h.request('GET', '/v1/events')).body.data).toEqual([]);
  });

  it('answers a manual retry with 503 when this process has no dispatcher', async () => {
    const ep = await h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook' });
    const published = await h.request('POST', '/v1/events', { type: 'a.b', data: {} });
    expect(published.body.deliveries).toHaveLength(1);
    const r = await h.request('POST', `/v1/deliveries/${published.body.deliveries[0]}/retry`);
    expectError(r, 503, 'SERVICE_UNAVAILABLE', 'api_error');
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    await h.request('DELETE', `/v1/endpoints/${ep.body.id}`);
  });

  it('puts x-request-id on successful responses too, a new one each time', async () => {
    const a = await h.request('GET', '/healthz', undefined, { key: null });
    const b = await h.request('GET', '/v1/endpoints');
    expect(a.headers.get('x-request-id')).toMatch(/^req_/);
    expect(b.headers.get('x-request-id')).toMatch(/^req_/);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });
});

describe('a key that sends too fast', () => {
  it('gets 429 RATE_LIMIT_EXCEEDED with retry-after, and nothing it sent is stored', async () => {
    const h = await startTestHerald({ rateLimitPerS: 5 }, 'api');
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => h.request('POST', '/v1/events', { type: 'flood.test', data: { i } })),
      );
      const accepted = responses.filter((r) => r.status === 202);
      const limited = responses.filter((r) => r.status === 429);
      expect(accepted.length).toBeGreaterThan(0);
      expect(limited.length).toBeGreaterThan(0);
      expect(accepted.length + limited.length).toBe(20);
      for (const r of limited) {
        expectError(r, 429, 'RATE_LIMIT_EXCEEDED', 'rate_limit_error');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      // Another key of the account has a bucket of its own.
      const reader = generateApiKey();
      const admin = await h.herald.store.findApiKeyByHash(hashApiKey(h.key));
      await h.herald.store.createApiKey(apiKeyRecord(reader, admin?.accountId ?? '', 'read', Date.now()));
      const feed = await h.request('GET', '/v1/events?limit=250', undefined, { key: reader });
      expect(feed.body.data.map((e: { id: string }) => e.id).sort()).toEqual(accepted.map((r) => r.body.id).sort());
    } finally {
      await h.close();
    }
  });
});

describe('a store that cannot be reached', () => {
  it('turns into 503 SERVICE_UNAVAILABLE with retry-after, on routes and on /readyz', async () => {
    const h = await startTestHerald({}, 'api');
    try {
      expect((await h.request('GET', '/readyz', undefined, { key: null })).status).toBe(200);
      // Authenticate once so the key is cached, then pull the database out from under the API.
      expect((await h.request('GET', '/v1/endpoints')).status).toBe(200);
      (h.herald.store as SqliteStore).database.close();
      const route = await h.request('GET', '/v1/endpoints');
      expectError(route, 503, 'SERVICE_UNAVAILABLE', 'api_error');
      expect(Number(route.headers.get('retry-after'))).toBeGreaterThan(0);
      const publish = await h.request('POST', '/v1/events', { type: 'a.b', data: {} });
      expectError(publish, 503, 'SERVICE_UNAVAILABLE', 'api_error');
      const ready = await h.request('GET', '/readyz', undefined, { key: null });
      expectError(ready, 503, 'SERVICE_UNAVAILABLE', 'api_error');
      expect(Number(ready.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});

describe('a route that fails for a reason nobody foresaw', () => {
  const tmp = tempDir();
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  const key = generateApiKey();
  const logged: Array<{ msg?: string; request_id?: string; err?: { message?: string } }> = [];

  beforeAll(async () => {
    store = openSqliteStore(join(tmp.dir, 'herald.db'));
    await store.createAccount('acct_1', 0);
    await store.createApiKey(apiKeyRecord(key, 'acct_1', 'admin', 0));
    // A real store whose one method breaks with a plain Error, the way a bug would.
    const broken: Store = Object.assign(Object.create(store) as Store, {
      listEndpoints: async () => {
        throw new Error('invariant violated in listEndpoints at /srv/herald/store.ts:12');
      },
    });
    const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    app = await buildApi({
      config: makeConfig({ logLevel: 'silent' }),
      store: broken,
      publisher: createGroupCommit((events) => store.publish(events)),
      logger,
      dispatcher: undefined,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    tmp.remove();
  });
  afterEach(() => {
    logged.length = 0;
  });

  it('answers 500 INTERNAL_ERROR with a generic message, and logs the real error with the request id', async () => {
    const response = await fetch(`${url}/v1/endpoints`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await response.json()) as ErrorBody;
    expectError({ status: response.status, headers: response.headers, body }, 500, 'INTERNAL_ERROR', 'api_error');
    expect(body.error.message).not.toContain('invariant');
    const line = logged.find((l) => l.msg === 'request failed');
    expect(line?.request_id).toBe(body.error.request_id);
    expect(line?.err?.message).toContain('invariant violated');
    // The log never carries the caller's key.
    expect(JSON.stringify(logged)).not.toContain(key);
  });
});
