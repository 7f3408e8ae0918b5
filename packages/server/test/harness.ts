import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Herald, type Role, startHerald } from '../src/app.js';
import { type Config, makeConfig } from '../src/config.js';
import { responseValidator } from './openapi-validator.js';
import { tempDir } from './temp-dir.js';

export { tempDir };

export const TEST_ADMIN_KEY = 'hk_test_admin_key_0000000000000000000000000000';

// biome-ignore lint/suspicious/noExplicitAny: the default keeps the tests' ~200 untyped `request` calls terse; pass T for a typed body.
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

interface RequestOptions {
  key?: string | null;
  headers?: Record<string, string>;
  rawBody?: string;
}

export interface TestHerald {
  herald: Herald;
  url: string;
  key: string;
  config: Config;
  /** Calls the API with the admin key unless `key` says otherwise (null: no Authorization header). */
  // biome-ignore lint/suspicious/noExplicitAny: as for ApiResponse.
  request<T = any>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** A real Herald on a SQLite file in a temp dir, listening on 127.0.0.1 on a free port. */
/** Reads until `done` holds; after `timeoutMs` fails naming `what` and showing the last value read. */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startTestHerald(overrides: Partial<Config> = {}, role: Role = 'serve'): Promise<TestHerald> {
  const tmp = tempDir();
  const config = makeConfig({
    port: 0,
    host: '127.0.0.1',
    db: join(tmp.dir, 'herald.db'),
    bootstrapKey: TEST_ADMIN_KEY,
    allowPrivateNetworks: true,
    logLevel: 'silent',
    ...overrides,
  });
  const herald = await startHerald(config, role);
  const url = herald.url ?? '';
  return {
    herald,
    url,
    key: TEST_ADMIN_KEY,
    config,
    async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const key = options.key === undefined ? TEST_ADMIN_KEY : options.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let payload: string | undefined = options.rawBody;
      if (payload === undefined && body !== undefined) {
        payload = JSON.stringify(body);
      }
      if (payload !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      const response = await fetch(url + path, { method, headers, body: payload });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {}
      // Every answer the API tests receive must be one the OpenAPI document describes.
      const problems = responseValidator().problems(
        method,
        path,
        response.status,
        response.headers.get('content-type'),
        parsed,
      );
      if (problems.length > 0)
        throw new Error(`The response is not as docs/openapi.json says:\n${problems.join('\n')}`);
      return { status: response.status, headers: response.headers, body: parsed as T };
    },
    async close() {
      await herald.close();
      tmp.remove();
    },
  };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  receivedAt: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface TestReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Change how the receiver answers from now on. */
  respondWith(respond: (request: ReceivedRequest) => Reply | Promise<Reply>): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request; answers 200 unless told otherwise. */
export async function startTestReceiver(
  respond: (request: ReceivedRequest) => Reply | Promise<Reply> = () => ({ status: 200, body: 'ok' }),
): Promise<TestReceiver> {
  let answer = respond;
  const requests: ReceivedRequest[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
      };
      requests.push(received);
      for (const w of waiters.splice(0)) w();
      try {
        const reply = await answer(received);
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
      } catch {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    requests,
    respondWith(next) {
      answer = next;
    },
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(
          () => reject(new Error(`The receiver got ${requests.length} of ${count} requests in ${timeoutMs} ms.`)),
          timeoutMs,
        );
        const check = () => {
          if (requests.length >= count) {
            clearTimeout(deadline);
            resolve(requests.slice(0, count));
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
