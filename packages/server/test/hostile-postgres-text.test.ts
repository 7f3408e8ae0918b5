import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from './harness.js';
import { findPostgres, testSchema } from './pg-database.js';

const pgUrl = await findPostgres();

/**
 * PostgreSQL's text columns cannot hold U+0000 (SQLite's can): a NUL in a field stored as a column
 * of its own failed the whole group commit there. Such fields refuse control characters up front.
 */
describe.skipIf(!pgUrl)('a NUL in a stored field is a 400 for its request only, on PostgreSQL', () => {
  let h: TestHerald;
  let schema: ReturnType<typeof testSchema>;
  beforeAll(async () => {
    schema = testSchema(pgUrl ?? '');
    h = await startTestHerald(
      { db: schema.url, secretKey: process.env.HERALD_SECRET_KEY, rateLimitPerS: 100_000 },
      'api',
    );
    expect((await h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook' })).status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    await schema?.drop();
  });

  it('refuses it in connection_id, a connection id in the path, a sync error and a description; the others publish', async () => {
    const bad = [
      h.request('POST', '/v1/events', { type: 'order.created', data: {}, connection_id: 'con_\u0000' }),
      h.request('POST', '/v1/connections/con_%00/syncs', { status: 'completed' }),
      h.request('POST', '/v1/connections/con_ok/syncs', { status: 'failed', error: 'bad\u0000byte' }),
      h.request('POST', '/v1/endpoints', { url: 'https://example.com/hook', description: 'a\u0000b' }),
    ];
    const good = Array.from({ length: 50 }, (_, i) =>
      h.request('POST', '/v1/events', { type: 'order.created', data: { i, text: 'NUL inside data is fine: \u0000' } }),
    );
    const [badAnswers, goodAnswers] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    expect(goodAnswers.map((r) => r.status)).toEqual(goodAnswers.map(() => 202));
    expect(badAnswers.map((r) => `${r.status} ${r.body.error?.message?.split(':')[0]}`)).toEqual([
      '400 connection_id',
      '400 id',
      '400 error',
      '400 description',
    ]);
  });
});
