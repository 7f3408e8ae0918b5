import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';
import { jsonOf, rawRequest } from './raw-http.js';

/** Every route of the running API as [method, path], read from Fastify's own route tree. */
function routesOf(h: TestHerald): Array<[string, string]> {
  const tree = h.herald.api?.printRoutes({ commonPrefix: false }) ?? '';
  const routes: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    const level = (match[1] ?? '').length / 4;
    stack.length = level;
    stack.push(match[2] ?? '');
    for (const method of (match[3] ?? '').split(', ')) {
      if (method !== 'HEAD') routes.push([method, stack.join('')]);
    }
  }
  return routes;
}

/** The ways one path can be written that a router reads as that path. */
function spellings(path: string): string[] {
  const [, first = '', ...rest] = path.split('/');
  return [
    path,
    `/%${first.charCodeAt(0).toString(16)}${first.slice(1)}/${rest.join('/')}`, // /%761/… is /v1/…
    `/${first}/%${(rest[0] ?? '').charCodeAt(0).toString(16)}${path.slice(first.length + 3)}`, // /v1/%65vents
    `http://herald.example${path}`, // absolute form
  ];
}

describe('the key is checked for the route the request reaches, however its path is written', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({}, 'serve');
  });
  afterAll(() => h.close());

  it('answers every /v1 route 401 without a key, also as /%761/…, /v1/%65… and http://host/v1/…', async () => {
    const routes = routesOf(h).filter(([, path]) => path.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThanOrEqual(20);
    const answers: string[] = [];
    for (const [method, pattern] of routes) {
      for (const target of spellings(pattern.replace(/:id/g, 'x_1'))) {
        const response = await rawRequest(
          h.url,
          `${method} ${target} HTTP/1.1\r\nhost: herald.example\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
        );
        const body = jsonOf(response) as { error?: { code?: string; request_id?: string } } | undefined;
        const sameId = body?.error?.request_id === response.headers['x-request-id'];
        answers.push(`${method} ${target} → ${response.status} ${body?.error?.code}${sameId ? '' : ' without its id'}`);
      }
    }
    expect(answers.filter((a) => !a.endsWith('→ 401 AUTHENTICATION_FAILED'))).toEqual([]);
  });

  it('rate-limits a key on /%761/… as on /v1/…', async () => {
    const limited = await startTestHerald({ rateLimitPerS: 1 }, 'api');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await rawRequest(
          limited.url,
          `GET /%761/event-types HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${limited.key}\r\nconnection: close\r\n\r\n`,
        );
        statuses.push(response.status);
      }
      expect(statuses).toContain(429);
    } finally {
      await limited.close();
    }
  });

  it('serves the public routes without a key, and an unknown path 404 in the error shape', async () => {
    for (const path of ['/healthz', '/%68ealthz', '/metrics', '/dashboard/']) {
      const response = await rawRequest(h.url, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(response.status, path).toBe(200);
    }
    const unknown = await rawRequest(h.url, 'GET /%761/nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(unknown.status).toBe(404);
    expect(jsonOf(unknown)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
