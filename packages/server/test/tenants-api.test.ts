import { afterEach, describe, expect, it } from 'vitest';
import { startTestHerald, startTestReceiver, type TestHerald, type TestReceiver } from './harness.js';

describe('tenants', () => {
  let herald: TestHerald;
  const receivers: TestReceiver[] = [];
  afterEach(async () => {
    await herald?.close();
    for (const r of receivers.splice(0)) await r.close();
  });

  async function receiver(): Promise<TestReceiver> {
    const r = await startTestReceiver();
    receivers.push(r);
    return r;
  }

  it('are created and updated by the producer’s own id, listed with a cursor, and read back', async () => {
    herald = await startTestHerald({}, 'api');
    const created = await herald.request('PUT', '/v1/tenants/cus_42:eu-1', { name: 'Acme', metadata: { plan: 'pro' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'cus_42:eu-1', name: 'Acme', metadata: { plan: 'pro' } });
    const updated = await herald.request('PUT', '/v1/tenants/cus_42:eu-1', { name: 'Acme Inc.' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Acme Inc.', metadata: {}, created_at: created.body.created_at });
    const bad = await herald.request('PUT', '/v1/tenants/has%20space', { name: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^id: /);
    await herald.request('PUT', '/v1/tenants/b', { name: 'B' });
    const first = await herald.request('GET', '/v1/tenants?limit=1');
    expect(first.body.data.map((t: { id: string }) => t.id)).toEqual(['b']);
    const second = await herald.request('GET', `/v1/tenants?limit=1&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((t: { id: string }) => t.id)).toEqual(['cus_42:eu-1']);
    expect(second.body.next_cursor).toBeNull();
    expect((await herald.request('GET', '/v1/tenants/nope')).status).toBe(404);
  });

  it('fan out by tenant: an event for A reaches A’s endpoints only, one without a tenant only tenant-less endpoints', async () => {
    herald = await startTestHerald();
    const [a, b, own] = [await receiver(), await receiver(), await receiver()];
    await herald.request('PUT', '/v1/tenants/a', { name: 'A' });
    await herald.request('PUT', '/v1/tenants/b', { name: 'B' });
    const epA = await herald.request('POST', '/v1/endpoints', { url: a.url, tenant_id: 'a' });
    const epB = await herald.request('POST', '/v1/endpoints', { url: b.url, tenant_id: 'b' });
    const epOwn = await herald.request('POST', '/v1/endpoints', { url: own.url });
    expect([epA.body.tenant_id, epB.body.tenant_id, epOwn.body.tenant_id]).toEqual(['a', 'b', null]);

    const forA = await herald.request('POST', '/v1/events', { type: 'order.created', data: { n: 1 }, tenant_id: 'a' });
    const forNone = await herald.request('POST', '/v1/events', { type: 'order.created', data: { n: 2 } });
    expect(forA.body.deliveries).toHaveLength(1);
    expect(forNone.body.deliveries).toHaveLength(1);
    const [toA] = await a.waitFor(1);
    const [toOwn] = await own.waitFor(1);
    expect(JSON.parse(String(toA?.body)).id).toBe(forA.body.id);
    expect(JSON.parse(String(toOwn?.body)).id).toBe(forNone.body.id);
    const eventA = await herald.request('GET', `/v1/events/${forA.body.id}`);
    expect(eventA.body.tenant_id).toBe('a');
    expect(eventA.body.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id)).toEqual([epA.body.id]);
    const eventNone = await herald.request('GET', `/v1/events/${forNone.body.id}`);
    expect(eventNone.body.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id)).toEqual([epOwn.body.id]);
    // B had no delivery of either event, so it was sent nothing.
    expect((await herald.request('GET', `/v1/deliveries?endpoint_id=${epB.body.id}`)).body.data).toEqual([]);
    expect(b.requests).toHaveLength(0);
    // The feed narrows by tenant.
    const feed = await herald.request('GET', '/v1/events?tenant_id=a');
    expect(feed.body.data.map((e: { id: string }) => e.id)).toEqual([forA.body.id]);
  });

  it('refuse an unknown tenant with a 400 that names tenant_id and says how to create it; nothing is stored', async () => {
    herald = await startTestHerald({}, 'api');
    const before = await herald.request('GET', '/v1/events');
    for (const [path, body] of [
      ['/v1/events', { type: 'order.created', data: {}, tenant_id: 'ghost' }],
      ['/v1/endpoints', { url: 'http://127.0.0.1:9/x', tenant_id: 'ghost' }],
      ['/v1/connections/con_1/syncs', { status: 'completed', tenant_id: 'ghost' }],
    ] as const) {
      const answer = await herald.request('POST', path, body);
      expect(answer.status, path).toBe(400);
      expect(answer.body.error.message).toMatch(/^tenant_id: .*PUT \/v1\/tenants\/ghost/);
    }
    expect((await herald.request('GET', '/v1/events')).body.data).toEqual(before.body.data);
    expect((await herald.request('GET', '/v1/endpoints')).body.data).toEqual([]);
    expect((await herald.request('GET', '/v1/connections')).body.data).toEqual([]);
  });

  it('keep a connection’s tenant: its sync events go to the tenant, and another tenant is refused', async () => {
    herald = await startTestHerald({}, 'api');
    await herald.request('PUT', '/v1/tenants/a', { name: 'A' });
    await herald.request('PUT', '/v1/tenants/b', { name: 'B' });
    const ep = await herald.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/a', tenant_id: 'a' });
    const first = await herald.request('POST', '/v1/connections/con_1/syncs', { status: 'started', tenant_id: 'a' });
    expect(first.body.tenant_id).toBe('a');
    // A later report without tenant_id keeps it, and its event goes to the tenant's endpoints.
    const done = await herald.request('POST', '/v1/connections/con_1/syncs', { status: 'completed' });
    expect(done.body.tenant_id).toBe('a');
    const event = await herald.request('GET', `/v1/events/${done.body.event_id}`);
    expect(event.body.tenant_id).toBe('a');
    expect(event.body.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id)).toEqual([ep.body.id]);
    const moved = await herald.request('POST', '/v1/connections/con_1/syncs', { status: 'completed', tenant_id: 'b' });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toMatch(/^tenant_id: /);
    expect((await herald.request('GET', '/v1/connections?tenant_id=b')).body.data).toEqual([]);
  });

  it('are served a portal that the producer’s origins may frame, while the operator dashboard refuses any frame', async () => {
    herald = await startTestHerald(
      {
        portalFrameAncestors: ['https://app.example.com', "'self'"],
        portalBrandName: 'Acme Hooks',
        portalAccent: '#5b5bd6',
        portalReturnUrl: 'https://app.example.com/settings',
      },
      'api',
    );
    const portal = await fetch(`${herald.url}/portal/`);
    expect(portal.status).toBe(200);
    expect(portal.headers.get('content-type')).toMatch(/^text\/html/);
    expect(portal.headers.get('content-security-policy')).toContain("frame-ancestors https://app.example.com 'self'");
    expect(portal.headers.get('x-frame-options')).toBeNull();
    // A deep link of the app is the app, without a key: the token is in the fragment, never sent.
    expect((await fetch(`${herald.url}/portal/deliveries/dlv_1`)).status).toBe(200);
    const config = await fetch(`${herald.url}/portal/config.json`);
    expect(await config.json()).toEqual({
      brand_name: 'Acme Hooks',
      accent: '#5b5bd6',
      return_url: 'https://app.example.com/settings',
    });
    const dashboard = await fetch(`${herald.url}/dashboard/`);
    expect(dashboard.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(dashboard.headers.get('x-frame-options')).toBe('DENY');
  });

  it('frame their portal only from Herald’s own origin by default', async () => {
    herald = await startTestHerald({}, 'api');
    const portal = await fetch(`${herald.url}/portal/`);
    expect(portal.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(await (await fetch(`${herald.url}/portal/config.json`)).json()).toEqual({
      brand_name: null,
      accent: null,
      return_url: null,
    });
  });

  it('take their endpoints with them when deleted: pending deliveries fail, portal sessions end', async () => {
    herald = await startTestHerald({ publicUrl: 'https://hooks.example.com/' }, 'api');
    await herald.request('PUT', '/v1/tenants/a', { name: 'A' });
    const ep = await herald.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/a', tenant_id: 'a' });
    const own = await herald.request('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/own' });
    const event = await herald.request('POST', '/v1/events', { type: 'order.created', data: {}, tenant_id: 'a' });
    // No body at all: the defaults.
    const session = await herald.request('POST', '/v1/tenants/a/portal-sessions');
    expect(session.status).toBe(201);
    expect(session.body.url).toBe(`https://hooks.example.com/portal/#token=${session.body.token}`);
    const expiresIn = Date.parse(session.body.expires_at) - Date.now();
    expect(expiresIn).toBeGreaterThan(86_000_000);
    expect(expiresIn).toBeLessThanOrEqual(86_400_000);
    for (const expires_in of [299, 604_801]) {
      const refused = await herald.request('POST', '/v1/tenants/a/portal-sessions', { expires_in });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toMatch(/^expires_in: /);
    }

    expect(await herald.request('DELETE', '/v1/tenants/a')).toMatchObject({
      status: 200,
      body: { id: 'a', deleted: true },
    });
    expect((await herald.request('GET', `/v1/endpoints/${ep.body.id}`)).status).toBe(404);
    expect((await herald.request('GET', `/v1/endpoints/${own.body.id}`)).status).toBe(200);
    const delivery = await herald.request('GET', `/v1/deliveries/${event.body.deliveries[0]}`);
    expect(delivery.body.status).toBe('failed');
    expect((await herald.request('GET', '/v1/endpoints', undefined, { key: session.body.token })).status).toBe(401);
    expect((await herald.request('DELETE', '/v1/tenants/a')).status).toBe(404);
  });
});
