import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';

/** `{"a":{"a":…{"a":[]}}}`: `depth` levels of objects and arrays, as raw JSON text. */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}[]${'}'.repeat(depth - 1)}`;
}

describe('one deeply nested publish cannot hurt the others', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ rateLimitPerS: 100_000 }, 'api');
    const made = await h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook' });
    expect(made.status).toBe(201);
  });
  afterAll(() => h.close());

  it('answers 100 ordinary publishes 202 and the one nested 5,000 levels deep 400, naming the limit', async () => {
    const deep = h.request('POST', '/v1/events', undefined, {
      rawBody: `{"type":"order.created","data":${nested(5_000)}}`,
    });
    const ordinary = Array.from({ length: 100 }, (_, i) =>
      h.request('POST', '/v1/events', { type: 'order.created', data: { order: i } }),
    );
    const [bad, ...good] = await Promise.all([deep, ...ordinary]);
    expect(good.map((r) => r.status)).toEqual(good.map(() => 202));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'data: nests deeper than 64 levels.' });
  });

  it('takes data exactly 64 levels deep and refuses 65, on publish and with an idempotency key', async () => {
    const at = await h.request('POST', '/v1/events', undefined, {
      rawBody: `{"type":"order.created","data":${nested(64)}}`,
      headers: { 'idempotency-key': 'deep-64' },
    });
    expect(at.status).toBe(202);
    const over = await h.request('POST', '/v1/events', undefined, {
      rawBody: `{"type":"order.created","data":${nested(65)}}`,
    });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toBe('data: nests deeper than 64 levels.');
  });
});
