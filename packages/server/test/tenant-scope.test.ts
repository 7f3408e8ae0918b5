import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createGroupCommit, newId } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../src/api/route-list.js';
import { buildApi } from '../src/api/server.js';
import { apiKeyRecord, generateApiKey } from '../src/api-keys.js';
import { makeConfig } from '../src/config.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import { tempDir } from './harness.js';

/**
 * Two customers of one producer, Acme (A) and Globex (B), each with endpoints, events, failed
 * deliveries, a connection and a job. Acme's portal session is tried against every /v1 route the
 * API has, read from the app itself: with Globex's ids it is not found, on operator-only routes it
 * is refused, and the database is byte for byte what it was. A route added later without tenant
 * scope fails here.
 */
describe('a portal session sees one tenant', () => {
  const tmp = tempDir();
  const adminKey = generateApiKey();
  const lines: string[] = [];
  let clock = Date.parse('2026-11-30T06:00:00.000Z');
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;

  const A = 'acme' as const;
  const B = 'globex' as const;
  /** Ids of each tenant's resources, filled in beforeAll. */
  const ids: Record<
    'acme' | 'globex',
    { endpoint: string; event: string; delivery: string; job: string; connection: string }
  > = {
    [A]: { endpoint: '', event: '', delivery: '', job: '', connection: 'con_acme' },
    [B]: { endpoint: '', event: '', delivery: '', job: '', connection: 'con_globex' },
  };
  const tokens = { a: '', aReadOnly: '', b: '' };
  let untenantedEndpoint = '';
  const bPending: string[] = [];

  async function call(method: string, path: string, token: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: bodies of many shapes; each test reads what it needs.
    let parsed: any = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, text };
  }
  const admin = (method: string, path: string, body?: unknown) => call(method, path, adminKey, body);

  /** Every row of every table: what "nothing changed" is compared on. */
  function snapshot(): string {
    const tables = store.database
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as Array<{ name: string }>;
    return JSON.stringify(
      tables.map((t) => [t.name, store.database.prepare(`SELECT * FROM "${t.name}" ORDER BY rowid`).all()]),
    );
  }

  async function failAll(deliveryIds: string[]) {
    await store.recordAttempts(
      deliveryIds.map((deliveryId) => ({
        claim: null,
        attempt: {
          id: newId('attempt'),
          deliveryId,
          attemptNo: 1,
          startedAt: clock,
          durationMs: 5,
          requestHeaders: {},
          responseStatus: 500,
          responseHeaders: {},
          responseBody: 'down',
          error: 'http_status' as const,
          manual: false,
        },
        status: 'failed' as const,
        nextAttemptAt: null,
      })),
      clock,
    );
  }

  beforeAll(async () => {
    store = openSqliteStore(join(tmp.dir, 'herald.db'));
    await store.createAccount('acct_1', 0);
    await store.createApiKey(apiKeyRecord(adminKey, 'acct_1', 'admin', 0));
    app = await buildApi({
      config: makeConfig({ allowPrivateNetworks: true, clock: { now: () => clock } }),
      store,
      publisher: createGroupCommit((events) => store.publish(events)),
      // The most the logger can write: every line of the whole session is checked for tokens below.
      logger: pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) }),
      dispatcher: undefined,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    for (const tenant of [A, B]) {
      expect((await admin('PUT', `/v1/tenants/${tenant}`, { name: tenant.toUpperCase() })).status).toBe(201);
      const ep = await admin('POST', '/v1/endpoints', { url: `http://127.0.0.1:9/${tenant}`, tenant_id: tenant });
      expect(ep.status).toBe(201);
      ids[tenant].endpoint = ep.body.id;
      const event = await admin('POST', '/v1/events', { type: 'order.created', data: { n: 1 }, tenant_id: tenant });
      expect(event.status).toBe(202);
      ids[tenant].event = event.body.id;
      ids[tenant].delivery = event.body.deliveries[0];
      const sync = await admin('POST', `/v1/connections/${ids[tenant].connection}/syncs`, {
        status: 'failed',
        error: 'token expired',
        tenant_id: tenant,
      });
      expect(sync.status).toBe(202);
    }
    const none = await admin('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/own' });
    untenantedEndpoint = none.body.id;
    await admin('POST', '/v1/events', { type: 'order.created', data: { n: 2 } });
    const all = await admin('GET', '/v1/deliveries?limit=250');
    await failAll(all.body.data.map((d: { id: string }) => d.id));
    // And one of B's still due: the oldest due delivery of an overview must not be B's to A.
    const due = await admin('POST', '/v1/events', { type: 'order.created', data: { n: 3 }, tenant_id: B });
    bPending.push(due.body.id, ...due.body.deliveries);

    for (const [name, tenant, readOnly] of [
      ['a', A, false],
      ['aReadOnly', A, true],
      ['b', B, false],
    ] as const) {
      const session = await admin('POST', `/v1/tenants/${tenant}/portal-sessions`, { read_only: readOnly });
      expect(session.status).toBe(201);
      tokens[name] = session.body.token;
    }
    // A job of each tenant, made by its own portal session.
    for (const [tenant, token] of [
      [A, tokens.a],
      [B, tokens.b],
    ] as const) {
      const job = await call('POST', '/v1/deliveries/retry', token, {});
      expect(job.status).toBe(202);
      ids[tenant].job = job.body.job_id;
    }
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    tmp.remove();
  });

  /** The id a route's `:id` names, by the collection it is under. */
  function idFor(routeUrl: string, tenant: typeof A | typeof B): string {
    const collection = routeUrl.split('/')[2];
    const of = ids[tenant];
    const byCollection: Record<string, string> = {
      endpoints: of.endpoint,
      events: of.event,
      deliveries: of.delivery,
      jobs: of.job,
      connections: of.connection,
      tenants: tenant,
      'api-keys': 'key_01JDNOSUCHKEY0000000000000',
    };
    const id = byCollection[collection ?? ''];
    if (id === undefined) {
      throw new Error(`${routeUrl}: no id of tenant ${tenant} is known for /v1/${collection}; add one to idFor.`);
    }
    return id;
  }

  /**
   * How a route without a path id names B's data (a query filter or a body field), and what it
   * must answer: `denied` is 403 or 404; `b-free` is 200 without any of B's ids (routes with no
   * tenant data at all). A route missing here fails the test: say how it is scoped.
   */
  type Variant = { query?: string; body?: unknown; expect: 'denied' | 'b-free' };
  function variantsFor(method: string, routeUrl: string): Variant[] {
    const b = ids[B];
    const table: Record<string, Variant[]> = {
      'GET /v1/endpoints': [{ query: `tenant_id=${B}`, expect: 'denied' }],
      'POST /v1/endpoints': [{ body: { url: 'http://127.0.0.1:9/x', tenant_id: B }, expect: 'denied' }],
      'GET /v1/events': [
        { query: `tenant_id=${B}`, expect: 'denied' },
        { query: `endpoint_id=${b.endpoint}`, expect: 'denied' },
        { query: 'after=0', expect: 'b-free' },
      ],
      'POST /v1/events': [{ body: { type: 'order.created', data: {}, tenant_id: A }, expect: 'denied' }],
      'GET /v1/deliveries': [
        { query: `tenant_id=${B}`, expect: 'denied' },
        { query: `endpoint_id=${b.endpoint}`, expect: 'b-free' },
        { query: `event_id=${b.event}`, expect: 'b-free' },
        { query: 'status=failed', expect: 'b-free' },
      ],
      'POST /v1/deliveries/retry': [{ body: { endpoint_id: b.endpoint }, expect: 'denied' }],
      'GET /v1/connections': [
        { query: `tenant_id=${B}`, expect: 'denied' },
        { query: '', expect: 'b-free' },
      ],
      'GET /v1/stats/deliveries': [
        { query: `tenant_id=${B}`, expect: 'denied' },
        { query: '', expect: 'b-free' },
      ],
      'GET /v1/tenants': [{ expect: 'denied' }],
      'GET /v1/api-keys': [{ expect: 'denied' }],
      'GET /v1/alerts': [{ expect: 'denied' }],
      'POST /v1/api-keys': [{ body: { role: 'admin' }, expect: 'denied' }],
      'GET /v1/event-types': [{ expect: 'b-free' }],
      'GET /v1/session': [{ expect: 'b-free' }],
      // Public, and the same for everyone: the API's description.
      'GET /v1/openapi.json': [{ expect: 'b-free' }],
    };
    if (routeUrl.includes(':')) return [{ body: {}, expect: 'denied' }];
    const variants = table[`${method} ${routeUrl}`];
    if (!variants) throw new Error(`${method} ${routeUrl}: say how this route names B's data in variantsFor.`);
    return variants;
  }

  const fill = (routeUrl: string, tenant: typeof A | typeof B) =>
    routeUrl.includes(':id') ? routeUrl.replace(/:id\b/, idFor(routeUrl, tenant)) : routeUrl;
  const v1Routes = () => registeredRoutes(app).filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD');
  const bIds = () => [B, ...Object.values(ids[B]), ...bPending, tokens.b];

  it("answers A's session 404 or 403 on every route with B's ids, and changes nothing", async () => {
    const before = snapshot();
    const routes = v1Routes();
    expect(routes.length).toBeGreaterThan(20);
    const answers: string[] = [];
    for (const route of routes) {
      for (const variant of variantsFor(route.method, route.url)) {
        const path = fill(route.url, B) + (variant.query ? `?${variant.query}` : '');
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : variant.body;
        const answer = await call(route.method, path, tokens.a, body);
        const ok =
          variant.expect === 'denied'
            ? answer.status === 404 || answer.status === 403
            : answer.status === 200 && !bIds().some((id) => answer.text.includes(id));
        if (!ok) answers.push(`${route.method} ${path} → ${answer.status} ${answer.text.slice(0, 300)}`);
        if (answer.status === 403) expect(answer.body.error.code).toBe('PERMISSION_DENIED');
        if (answer.status === 404) expect(answer.body.error.code).toBe('NOT_FOUND');
      }
    }
    expect(answers).toEqual([]);
    expect(snapshot()).toBe(before);
  });

  it('refuses operator-only routes to a portal session with 403, whatever the ids', async () => {
    const operatorOnly = v1Routes().filter((r) => !r.tenantScoped && !r.public);
    expect(operatorOnly.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining([
        'POST /v1/api-keys',
        'PUT /v1/tenants/:id',
        'POST /v1/tenants/:id/portal-sessions',
        'DELETE /v1/tenants/:id/portal-sessions',
        'POST /v1/events',
        'POST /v1/connections/:id/syncs',
      ]),
    );
    const before = snapshot();
    for (const route of operatorOnly) {
      const answer = await call(route.method, fill(route.url, A), tokens.a, route.method === 'GET' ? undefined : {});
      expect(answer.status, `${route.method} ${route.url}`).toBe(403);
    }
    expect(snapshot()).toBe(before);
  });

  it('gives a read-only session 403 on every write, its own ids included, and changes nothing', async () => {
    const before = snapshot();
    const writes = v1Routes().filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(10);
    for (const route of writes) {
      const answer = await call(route.method, fill(route.url, A), tokens.aReadOnly, {});
      expect(answer.status, `${route.method} ${route.url}`).toBe(403);
      expect(answer.body.error.code).toBe('PERMISSION_DENIED');
    }
    // It still reads its own tenant's, but not the signing secret (as a `read` API key).
    expect((await call('GET', `/v1/deliveries/${ids[A].delivery}`, tokens.aReadOnly)).status).toBe(200);
    expect((await call('GET', `/v1/endpoints/${ids[A].endpoint}/secret`, tokens.aReadOnly)).status).toBe(403);
    expect(snapshot()).toBe(before);
  });

  it("lists A's resources to A's session and never B's", async () => {
    const a = ids[A];
    const lists = {
      '/v1/endpoints': [a.endpoint],
      '/v1/events': [a.event],
      '/v1/deliveries?status=failed': [a.delivery],
      '/v1/connections': [a.connection],
    };
    for (const [path, expected] of Object.entries(lists)) {
      const answer = await call('GET', path, tokens.a);
      expect(answer.status, path).toBe(200);
      const listed = answer.body.data.map((r: { id?: string; connection_id?: string }) => r.id ?? r.connection_id);
      expect(listed, path).toEqual(expect.arrayContaining(expected));
      expect(
        answer.body.data.every((r: { tenant_id: string }) => r.tenant_id === A),
        path,
      ).toBe(true);
      expect(
        bIds().some((id) => answer.text.includes(id)),
        path,
      ).toBe(false);
      expect(answer.text, path).not.toContain(untenantedEndpoint);
    }
    // The operator narrows the same lists with ?tenant_id=.
    const narrowed = await admin('GET', `/v1/deliveries?tenant_id=${B}`);
    expect(narrowed.body.data.map((d: { tenant_id: string }) => d.tenant_id)).toEqual([B, B, B]);
    const session = await call('GET', '/v1/session', tokens.a);
    expect(session.body).toMatchObject({ kind: 'portal', read_only: false, tenant: { id: A, name: 'ACME' } });
  });

  it('lets a session manage its own endpoints: created for its tenant, edited, rotated, revealed and tested', async () => {
    const created = await call('POST', '/v1/endpoints', tokens.a, { url: 'http://127.0.0.1:9/new' });
    expect(created.status).toBe(201);
    expect(created.body.tenant_id).toBe(A);
    const id = created.body.id;
    expect((await call('PATCH', `/v1/endpoints/${id}`, tokens.a, { description: 'Orders' })).body.description).toBe(
      'Orders',
    );
    const moved = await call('PATCH', `/v1/endpoints/${id}`, tokens.a, { tenant_id: B });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toMatch(/^tenant_id: /);
    const rotated = await call('POST', `/v1/endpoints/${id}/secret/rotate`, tokens.a);
    expect(rotated.status).toBe(200);
    const revealed = await call('GET', `/v1/endpoints/${id}/secret`, tokens.a);
    expect(revealed.body.secret).toBe(rotated.body.secret);
    const test = await call('POST', `/v1/endpoints/${id}/test`, tokens.a);
    expect(test.status).toBe(202);
    expect(test.body.deliveries).toHaveLength(1);
    const sent = await call('GET', `/v1/deliveries/${test.body.deliveries[0]}`, tokens.a);
    expect(sent.body).toMatchObject({ endpoint_id: id, tenant_id: A });
    const job = await call('GET', `/v1/jobs/${ids[A].job}`, tokens.a);
    expect(job.body).toMatchObject({ tenant_id: A, total: 2 });
    expect((await call('DELETE', `/v1/endpoints/${id}`, tokens.a)).status).toBe(200);
  });

  it('refuses expired and ended sessions with 401', async () => {
    const short = await admin('POST', `/v1/tenants/${A}/portal-sessions`, { expires_in: 300 });
    // Without --public-url: the listening address (the wildcard host as localhost).
    expect(short.body.url).toBe(`${url.replace('127.0.0.1', 'localhost')}/portal/#token=${short.body.token}`);
    expect((await call('GET', '/v1/endpoints', short.body.token)).status).toBe(200);
    clock += 300_000;
    const expired = await call('GET', '/v1/endpoints', short.body.token);
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('AUTHENTICATION_FAILED');
    clock -= 300_000;

    const ended = await admin('DELETE', `/v1/tenants/${B}/portal-sessions`);
    expect(ended.body).toEqual({ tenant_id: B, ended: 1 });
    expect((await call('GET', '/v1/endpoints', tokens.b)).status).toBe(401);
    // A's sessions are not B's.
    expect((await call('GET', '/v1/endpoints', tokens.a)).status).toBe(200);
  });

  it('never writes a portal token to the log, in every line of the sessions above', () => {
    expect(lines.length).toBeGreaterThan(50);
    const all = lines.join('\n');
    for (const token of Object.values(tokens)) expect(all).not.toContain(token);
    // Nor the part after the prefix, in case something logs a slice of it.
    for (const token of Object.values(tokens)) expect(all).not.toContain(token.slice(4, 24));
  });
});
