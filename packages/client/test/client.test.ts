import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type HeraldClient, HeraldError } from '@herald/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestHerald,
  startTestReceiver,
  type TestHerald,
  type TestReceiver,
  tempDir,
  until,
} from '../../server/test/harness.js';

/** @herald/client against a real Herald (in this process, on a real port and a real SQLite file). */

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function thrown(promise: Promise<unknown>): Promise<HeraldError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HeraldError) return error;
    throw error;
  }
  throw new Error('expected a HeraldError, the call succeeded');
}

describe('@herald/client against herald serve', () => {
  let herald: TestHerald;
  let receiver: TestReceiver;
  let client: HeraldClient;

  beforeAll(async () => {
    herald = await startTestHerald({ retryBaseMs: 60_000 });
    receiver = await startTestReceiver(() => ({ status: 500, body: 'no' }));
    client = createClient({ url: herald.url, apiKey: herald.key });
  });
  afterAll(async () => {
    await herald?.close();
    await receiver?.close();
  });

  it('calls every /v1 route once', async () => {
    const types = await client.eventTypes.page();
    expect(types.data.map((t) => t.name)).toContain('sync.completed');
    expect((await collect(client.eventTypes.list())).length).toBe(types.data.length);

    const created = await client.endpoints.create({ url: receiver.url, description: 'client test' });
    expect(created.secret).toMatch(/^whsec_/);
    expect(await client.endpoints.get(created.id)).toMatchObject({ id: created.id, description: 'client test' });
    expect((await client.endpoints.update(created.id, { description: 'renamed' })).description).toBe('renamed');
    expect((await client.endpoints.page({ limit: 1 })).data).toHaveLength(1);
    expect((await collect(client.endpoints.list())).map((e) => e.id)).toContain(created.id);
    expect((await client.endpoints.secret(created.id)).secret).toBe(created.secret);
    const rotated = await client.endpoints.rotateSecret(created.id);
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.previous_secret_expires_at).toEqual(expect.any(String));

    const published = await client.events.publish({ type: 'order.paid', data: { n: 1 } });
    expect(published.deliveries).toHaveLength(1);
    const event = await client.events.get(published.id);
    expect(event).toMatchObject({ id: published.id, type: 'order.paid', data: { n: 1 } });
    expect(event.deliveries[0]?.endpoint_id).toBe(created.id);
    expect((await client.events.page({ type: 'order.paid' })).data.map((e) => e.id)).toEqual([published.id]);
    expect((await collect(client.events.list())).map((e) => e.id)).toContain(published.id);
    const stream = await collect(client.events.stream(created.id));
    expect(stream.map((s) => [s.sequence, s.id])).toEqual([[1, published.id]]);
    expect((await client.events.streamPage(created.id, { after: 1 })).data).toEqual([]);

    const deliveryId = published.deliveries[0] as string;
    expect((await client.deliveries.page({ event_id: published.id })).data[0]?.id).toBe(deliveryId);
    await until(
      () => client.deliveries.get(deliveryId),
      (d) => d.attempts.length === 1,
      'the first attempt',
    );
    const retried = await client.deliveries.retry(deliveryId);
    expect(retried.attempt?.manual).toBe(true);
    const all = await collect(client.deliveries.list({ endpoint_id: created.id }));
    expect(all.map((d) => d.id)).toEqual([deliveryId]);
    const job = await client.deliveries.retryFailed({ endpoint_id: created.id });
    expect(job).toMatchObject({ state: expect.any(String), total: expect.any(Number) });
    const seen: number[] = [];
    const finished = await client.jobs.wait(job.job_id, { intervalMs: 50, onProgress: (j) => seen.push(j.done) });
    expect(finished.state).toBe('completed');
    expect(seen.length).toBeGreaterThan(0);
    expect((await client.jobs.get(job.job_id)).id).toBe(job.job_id);

    const key = await client.apiKeys.create({ role: 'read' });
    expect(key.key).toMatch(/^hk_/);
    expect((await client.apiKeys.page()).data.map((k) => k.id)).toContain(key.id);
    expect((await collect(client.apiKeys.list())).length).toBeGreaterThanOrEqual(2);
    expect(await client.apiKeys.revoke(key.id)).toEqual({ id: key.id, deleted: true });

    const sync = await client.connections.reportSync('con_client', { status: 'completed' });
    expect(sync.event_id).toEqual(expect.any(String));
    expect((await client.connections.syncStatus('con_client')).status).toBe('completed');
    expect((await client.connections.page()).data.map((c) => c.connection_id)).toEqual(['con_client']);
    expect((await collect(client.connections.list())).length).toBe(1);

    // A fresh Herald has fired no alert; the page's shape is the API's.
    expect(await client.alerts.page({ state: 'open', limit: 5 })).toEqual({ data: [], next_cursor: null });
    expect(await collect(client.alerts.list())).toEqual([]);

    const stats = await client.stats.deliveries({ bucket_seconds: 600 });
    expect(stats.buckets.length).toBeGreaterThan(0);

    expect(await client.endpoints.delete(created.id)).toEqual({ id: created.id, deleted: true });
  });

  it('calls the tenant routes, and works as a portal session scoped to one tenant', async () => {
    expect(await client.tenants.put('cus_client', { name: 'Client Co' })).toMatchObject({ id: 'cus_client' });
    expect((await client.tenants.get('cus_client')).name).toBe('Client Co');
    expect((await client.tenants.page({ limit: 1 })).data).toHaveLength(1);
    expect((await collect(client.tenants.list())).map((t) => t.id)).toContain('cus_client');
    const ep = await client.endpoints.create({ url: receiver.url, tenant_id: 'cus_client' });
    expect((await client.endpoints.page({ tenant_id: 'cus_client' })).data.map((e) => e.id)).toEqual([ep.id]);
    expect((await client.session()).kind).toBe('api_key');

    const opened = await client.tenants.openPortal('cus_client', { read_only: false });
    const portal = createClient({ url: herald.url, apiKey: opened.token });
    expect(await portal.session()).toMatchObject({ kind: 'portal', tenant: { id: 'cus_client' } });
    expect((await collect(portal.endpoints.list())).map((e) => e.id)).toEqual([ep.id]);
    expect((await portal.endpoints.sendTest(ep.id)).deliveries).toHaveLength(1);
    expect((await thrown(portal.tenants.get('cus_client'))).code).toBe('PERMISSION_DENIED');

    expect(await client.tenants.endPortalSessions('cus_client')).toEqual({ tenant_id: 'cus_client', ended: 1 });
    expect((await thrown(portal.session())).code).toBe('AUTHENTICATION_FAILED');
    expect(await client.tenants.delete('cus_client')).toEqual({ id: 'cus_client', deleted: true });
  });

  it('pages an async iterator across several pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.endpoints.create({ url: receiver.url })).id);
    const pages: string[] = [];
    const paged = createClient({
      url: herald.url,
      apiKey: herald.key,
      fetch: (input, init) => {
        pages.push(String(input));
        return fetch(input, init);
      },
    });
    const listed = await collect(paged.endpoints.list({ limit: 2 }));
    expect(listed.map((e) => e.id)).toEqual(expect.arrayContaining(ids));
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const endpointId of ids) await client.endpoints.delete(endpointId);
  });

  it('throws HeraldError with status, code, type, message and requestId', async () => {
    const noRetry = { retry: { maxRetries: 0 } };
    const expectError = (error: HeraldError, status: number, code: string, type: string) => {
      expect(error).toBeInstanceOf(HeraldError);
      expect({ status: error.status, code: error.code, type: error.type }).toEqual({ status, code, type });
      expect(error.message.length).toBeGreaterThan(0);
      expect(error.requestId).toMatch(/\S/);
      expect(String(error)).toBe(`${code}: ${error.message} (${error.requestId})`);
    };

    // biome-ignore lint/suspicious/noExplicitAny: a body the types refuse, to reach the server's 400.
    const bad = await thrown(client.endpoints.create({ url: receiver.url, event_type: 'x' } as any));
    expectError(bad, 400, 'INVALID_REQUEST', 'invalid_request_error');
    expect(bad.message).toContain('event_type');

    const heard: HeraldError[] = [];
    const wrongKey = createClient({ url: herald.url, apiKey: 'hk_nope', onError: (e) => heard.push(e), ...noRetry });
    const unauthorized = await thrown(wrongKey.endpoints.page());
    expectError(unauthorized, 401, 'AUTHENTICATION_FAILED', 'authentication_error');
    // onError hears the very error the call rejects with (the dashboard signs out on it), once.
    expect(heard).toEqual([unauthorized]);
    const throwing = createClient({
      url: herald.url,
      apiKey: 'hk_nope',
      onError: () => {
        throw new Error('listener');
      },
    });
    expect((await thrown(throwing.session())).status).toBe(401);

    const read = await client.apiKeys.create({ role: 'read' });
    const reader = createClient({ url: herald.url, apiKey: read.key });
    expectError(
      await thrown(reader.endpoints.create({ url: receiver.url })),
      403,
      'PERMISSION_DENIED',
      'permission_error',
    );

    expectError(await thrown(client.endpoints.get('ep_missing')), 404, 'NOT_FOUND', 'invalid_request_error');

    await client.events.publish({ type: 'a.b', data: {} }, { idempotencyKey: 'same-key' });
    expectError(
      await thrown(client.events.publish({ type: 'a.b', data: { other: true } }, { idempotencyKey: 'same-key' })),
      409,
      'IDEMPOTENCY_KEY_REUSED',
      'invalid_request_error',
    );

    const huge = { blob: 'x'.repeat(herald.config.maxBodyBytes + 1) };
    expectError(
      await thrown(client.events.publish({ type: 'a.b', data: huge })),
      413,
      'PAYLOAD_TOO_LARGE',
      'invalid_request_error',
    );
  });

  it('retries a network error on a GET but not on a POST that may have arrived', async () => {
    const dead = createServer((req) => req.socket.destroy());
    const url = await listen(dead);
    const attempts: string[] = [];
    const c = createClient({
      url,
      apiKey: 'k',
      retry: { maxRetries: 2, baseDelayMs: 10 },
      onRetry: (r) => attempts.push(r.method),
    });
    const getError = await thrown(c.endpoints.page());
    expect({ status: getError.status, code: getError.code, requestId: getError.requestId }).toEqual({
      status: 0,
      code: 'NETWORK_ERROR',
      requestId: null,
    });
    expect(attempts).toEqual(['GET', 'GET']);
    attempts.length = 0;
    expect((await thrown(c.endpoints.rotateSecret('ep_x'))).code).toBe('NETWORK_ERROR');
    expect(attempts).toEqual([]);
    await close(dead);
  });

  it('times out a call, and stops at once on the caller’s AbortSignal', async () => {
    const slow = createServer(() => {});
    const url = await listen(slow);
    const c = createClient({ url, apiKey: 'k', timeoutMs: 100, retry: { maxRetries: 0 } });
    const error = await thrown(c.endpoints.page());
    expect(error.code).toBe('TIMEOUT');
    const controller = new AbortController();
    const pending = createClient({ url, apiKey: 'k' }).endpoints.page({}, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    await expect(pending).rejects.toThrow('caller gave up');
    slow.closeAllConnections();
    await close(slow);
  });
});

describe('@herald/client retries', () => {
  it('retries a 429 flood to success, honouring retry-after', async () => {
    const herald = await startTestHerald({ rateLimitPerS: 5 });
    try {
      const retries: number[] = [];
      const c = createClient({
        url: herald.url,
        apiKey: herald.key,
        retry: { maxRetries: 10 },
        onRetry: (r) => retries.push(r.error.status),
      });
      const answers = await Promise.all(Array.from({ length: 20 }, () => c.endpoints.page()));
      expect(answers).toHaveLength(20);
      expect(retries.length).toBeGreaterThan(0);
      expect(new Set(retries)).toEqual(new Set([429]));
      // Without retries the same flood shows the 429 as a HeraldError.
      const bare = createClient({ url: herald.url, apiKey: herald.key, retry: { maxRetries: 0 } });
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => bare.endpoints.page()));
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      expect(rejected?.reason).toMatchObject({ status: 429, code: 'RATE_LIMIT_EXCEEDED', type: 'rate_limit_error' });
      expect((rejected?.reason as HeraldError | undefined)?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await herald.close();
    }
  });

  it('throws a 503 whose retry-after is beyond the cap (a manual retry on herald api)', async () => {
    const api = await startTestHerald({}, 'api');
    try {
      const c = createClient({ url: api.url, apiKey: api.key });
      const endpoint = await c.endpoints.create({ url: 'http://127.0.0.1:9/' });
      const { deliveries } = await c.events.publish({ type: 'a.b', data: {} });
      const error = await thrown(c.deliveries.retry(deliveries[0] as string));
      expect(error).toMatchObject({
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        type: 'api_error',
        retryAfterSeconds: 60,
      });
      expect(error.requestId).toMatch(/\S/);
      await c.endpoints.delete(endpoint.id);
    } finally {
      await api.close();
    }
  });

  it('retries a 503 to success', async () => {
    let calls = 0;
    const flaky = createServer((_req, res) => {
      calls++;
      if (calls <= 2) {
        res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json', 'x-request-id': 'req-1' });
        res.end(
          JSON.stringify({
            error: { code: 'SERVICE_UNAVAILABLE', type: 'api_error', message: 'busy', request_id: 'req-1' },
          }),
        );
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: [], next_cursor: null }));
      }
    });
    const url = await listen(flaky);
    const c = createClient({ url, apiKey: 'k' });
    expect(await c.endpoints.page()).toEqual({ data: [], next_cursor: null });
    expect(calls).toBe(3);
    await close(flaky);
  });

  it('rides over a server restarted mid-call', async () => {
    const tmp = tempDir();
    const db = `${tmp.dir}/herald.db`;
    let herald = await startTestHerald({ db });
    const port = Number(new URL(herald.url).port);
    const endpoint = await createClient({ url: herald.url, apiKey: herald.key }).endpoints.create({
      url: 'http://127.0.0.1:9/',
    });
    await herald.herald.close();
    const retries: string[] = [];
    const c = createClient({ url: herald.url, apiKey: herald.key, onRetry: (r) => retries.push(r.error.code) });
    const call = c.endpoints.get(endpoint.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    herald = await startTestHerald({ db, port });
    try {
      expect((await call).id).toBe(endpoint.id);
      expect(retries[0]).toBe('NETWORK_ERROR');
    } finally {
      await herald.close();
      tmp.remove();
    }
  });

  it('publishes one event when the first response is dropped and the publish is retried', async () => {
    const herald = await startTestHerald();
    let dropped = 0;
    // Forwards to Herald; the first publish reaches Herald and is answered, but its answer is dropped.
    const proxy = createServer((req, res) => {
      const upstream = httpRequest(
        `${herald.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          if (req.method === 'POST' && dropped === 0) {
            dropped++;
            answer.resume();
            answer.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    const url = await listen(proxy);
    try {
      const retries: string[] = [];
      const c = createClient({ url, apiKey: herald.key, onRetry: (r) => retries.push(r.error.code) });
      const published = await c.events.publish({ type: 'order.paid', data: { order: 42 } });
      expect(dropped).toBe(1);
      expect(retries).toEqual(['NETWORK_ERROR']);
      const feed = await collect(createClient({ url: herald.url, apiKey: herald.key }).events.list());
      expect(feed.map((e) => e.id)).toEqual([published.id]);
    } finally {
      proxy.closeAllConnections();
      await close(proxy);
      await herald.close();
    }
  });
});
