import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { createGroupCommit } from '@herald/protocol';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/api/server.js';
import { apiKeyRecord, generateApiKey } from '../src/api-keys.js';
import { makeConfig } from '../src/config.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { tempDir } from './harness.js';

type Line = Record<string, unknown> & { msg?: string; request_id?: string };

describe('what the API writes to its log', () => {
  const tmp = tempDir();
  const key = generateApiKey();
  const lines: Line[] = [];
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  let gate: () => Promise<void> = async () => {};

  beforeAll(async () => {
    store = openSqliteStore(join(tmp.dir, 'herald.db'));
    await store.createAccount('acct_1', 0);
    await store.createApiKey(apiKeyRecord(key, 'acct_1', 'admin', 0));
    // The real store, with a gate a test can close on one read.
    const gated: Store = Object.assign(Object.create(store) as Store, {
      listDeliveries: async (...args: Parameters<Store['listDeliveries']>) => {
        await gate();
        return store.listDeliveries(...args);
      },
    });
    app = await buildApi({
      config: makeConfig({ allowPrivateNetworks: true }),
      store: gated,
      publisher: createGroupCommit((events) => store.publish(events)),
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
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

  async function call(method: string, path: string, body?: unknown) {
    const response = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { response, body: (await response.json()) as Record<string, unknown> };
  }

  it('writes one line per request with its request id, and no key, secret or payload', async () => {
    lines.length = 0;
    const created = await call('POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/hook' });
    const published = await call('POST', '/v1/events', { type: 'card.charged', data: { card: '4242-4242-4242-4242' } });
    const refused = await call('POST', '/v1/events', { type: 'card.charged' });
    expect(refused.response.status).toBe(400);

    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(3);
    expect(lines).toHaveLength(3);
    const ids = [created, published, refused].map((c) => c.response.headers.get('x-request-id'));
    expect(requests.map((l) => l.request_id)).toEqual(ids);
    expect(requests[1]).toMatchObject({ method: 'POST', route: '/v1/events', status: 202 });
    expect(requests[2]).toMatchObject({ status: 400, error: 'INVALID_REQUEST' });

    const text = JSON.stringify(lines);
    expect(text).not.toContain(key);
    expect(text).not.toContain(created.body.secret as string);
    expect(text).not.toContain('4242');
  });

  it('finishes a request in flight when closing, ends its connection, and closes at once', async () => {
    let release = () => {};
    let entered = () => {};
    const inRoute = new Promise<void>((r) => {
      entered = r;
    });
    gate = () => {
      entered();
      return new Promise<void>((r) => {
        release = r;
      });
    };
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    const ended = new Promise((r) => socket.on('close', r));
    socket.write(`GET /v1/deliveries HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\n\r\n`);
    await inRoute;
    const started = Date.now();
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 20));
    release();
    await closing;
    await ended;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toMatch(/connection: close/i);
    // A new connection finds nobody listening: the client goes to another instance.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
