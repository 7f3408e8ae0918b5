import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ERRORS } from '@herald/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';
import { createResponseValidator, OPENAPI_PATH } from './openapi-validator.js';

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  responses: Record<string, unknown>;
};

/** Every route of the running API as `METHOD /path/{param}`, from Fastify's own route tree. */
function routesOf(h: TestHerald): string[] {
  const tree = h.herald.api?.printRoutes({ commonPrefix: false }) ?? '';
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    stack.length = (match[1] ?? '').length / 4;
    stack.push(match[2] ?? '');
    for (const method of (match[3] ?? '').split(', ')) {
      if (method !== 'HEAD') routes.push(`${method} ${stack.join('').replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

/** Served as files, not as API: kept out of the document on purpose (`schema: { hide: true }`). */
const FILES = /^GET \/(dashboard|docs|portal)(\/|\*|$)/;

describe('the OpenAPI document', () => {
  let h: TestHerald;
  let served: Json;
  beforeAll(async () => {
    h = await startTestHerald({}, 'serve');
    const response = await h.request('GET', '/v1/openapi.json', undefined, { key: null });
    expect(response.status).toBe(200);
    served = response.body;
  });
  afterAll(() => h.close());

  it('is served without a key, and equals docs/openapi.json (`npm run openapi` writes it)', () => {
    const checkedIn = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
    // When this fails: run `npm run openapi` and commit docs/openapi.json with the route change.
    expect(served).toEqual(checkedIn);
  });

  it('passes an outside validator (swagger-parser, OpenAPI 3.1)', async () => {
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(served) as never)).resolves.toBeDefined();
  });

  it('lists every route of the API, each with a summary, a description, a tag and its answers', () => {
    const paths = served.paths as Record<string, Record<string, Operation>>;
    const documented = Object.entries(paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    // A new route without schemas fails here: give it `schema` (summary, description, tags,
    // operationId, response) and run `npm run openapi`.
    expect(documented).toEqual(routesOf(h).filter((r) => !FILES.test(r)));
    const lacking: string[] = [];
    const operationIds = new Set<string>();
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        if (!op.operationId || operationIds.has(op.operationId)) lacking.push(`${name}: operationId`);
        operationIds.add(op.operationId ?? '');
        if (!op.summary) lacking.push(`${name}: summary`);
        if (!op.description || op.description.length < 20) lacking.push(`${name}: description`);
        if (!op.tags?.length) lacking.push(`${name}: tags`);
        if (!Object.keys(op.responses).some((s) => s.startsWith('2'))) lacking.push(`${name}: a 2xx response`);
        if (!op.responses['500']) lacking.push(`${name}: 500`);
      }
    }
    expect(lacking).toEqual([]);
  });

  it('gives each error status an example that is itself a valid answer', () => {
    const validator = createResponseValidator(served);
    const responses = (served.components as { responses: Record<string, Json> }).responses;
    const problems: string[] = [];
    for (const [name, response] of Object.entries(responses)) {
      const example = ((response.content as Json)['application/json'] as Json).example as { error: { code: string } };
      const status = String(Object.entries(ERRORS).find(([code]) => code === example.error.code)?.[1].status);
      // The first operation that answers with it: the example must pass as that operation's answer.
      const user = Object.entries(served.paths as Record<string, Record<string, Operation>>)
        .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))
        .find(({ op }) => (op.responses[status] as Json | undefined)?.$ref === `#/components/responses/${name}`);
      if (!user) {
        problems.push(`${name}: no operation answers ${status} with it`);
        continue;
      }
      const path = user.path.replace(/\{[^}]+\}/g, 'x_1');
      problems.push(
        ...validator.problems(user.method.toUpperCase(), path, Number(status), 'application/json', example),
      );
    }
    expect(problems).toEqual([]);
  });

  it('needs the bearer key everywhere but the public routes', () => {
    const paths = served.paths as Record<string, Record<string, Operation & { security?: unknown[] }>>;
    const publicOps = Object.entries(paths)
      .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op] as const))
      .filter(([, op]) => Array.isArray(op.security) && op.security.length === 0)
      .map(([name]) => name);
    expect(publicOps.sort()).toEqual(['GET /healthz', 'GET /metrics', 'GET /readyz', 'GET /v1/openapi.json']);
    expect(served.security).toEqual([{ bearer: [] }]);
    expect((served.components as Json).securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
  });
});

describe('the response validator the API tests run every answer through', () => {
  let h: TestHerald;
  const validator = createResponseValidator(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')));
  beforeAll(async () => {
    h = await startTestHerald({}, 'api');
  });
  afterAll(() => h.close());

  it('passes real answers and catches a field the document lacks, a missing one, a wrong type and a wrong status', async () => {
    const created = await h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook' });
    expect(created.status).toBe(201);
    const type = created.headers.get('content-type');
    const check = (status: number, body: unknown, path = '/v1/endpoints') =>
      validator.problems('POST', path, status, type, body);
    expect(check(201, created.body)).toEqual([]);

    expect(check(201, { ...created.body, tenant: 'acme' }).join()).toMatch(/must NOT have additional properties/);
    const { secret: _secret, ...withoutSecret } = created.body;
    expect(check(201, withoutSecret).join()).toMatch(/must have required property 'secret'/);
    expect(check(201, { ...created.body, disabled: 'no' }).join()).toMatch(/disabled must be boolean/);
    expect(check(201, { ...created.body, created_at: 'yesterday' }).join()).toMatch(/must match format "date-time"/);
    expect(check(200, created.body).join()).toMatch(/lists no 200 for POST \/v1\/endpoints/);
    // An error status the route lists, with a body that is not the error body.
    expect(check(400, created.body).join()).toMatch(/must have required property 'error'/);

    // A literal path wins over a template: /v1/deliveries/retry is the bulk retry, not a delivery.
    const bulk = await h.request('POST', '/v1/deliveries/retry', {});
    expect(bulk.status).toBe(202);
    expect(validator.problems('POST', '/v1/deliveries/retry', 202, type, bulk.body)).toEqual([]);

    // An unknown path still answers with the error body.
    const unknown = await h.request('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(validator.problems('GET', '/v1/nothing-here', 404, type, { message: 'no' }).join()).toMatch(
      /not an error body/,
    );
  });
});
