import { afterEach, describe, expect, it } from 'vitest';
import { api } from './herald-process.js';
import { findPostgres, testSchema } from './pg-database.js';
import { publishMany, query, startCountingReceiver, startFleet, waitFor } from './pg-fleet.js';

const pgUrl = await findPostgres();
/** The 20,000: about 45 s on a quiet 2-core machine (HERALD_SCALE_EVENTS=2000 for a quick run). */
const EVENTS = Number(process.env.HERALD_SCALE_EVENTS ?? 20_000);

describe.skipIf(pgUrl === null)('three workers and two APIs on one PostgreSQL', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`delivers each of ${EVENTS} events published across both APIs exactly once`, { timeout: 180_000 }, async () => {
    const schema = testSchema(pgUrl as string);
    cleanups.push(() => schema.drop());
    const receiver = await startCountingReceiver();
    cleanups.push(() => receiver.close());

    // All five start at once: the migrations run once, under the advisory lock.
    const fleet = await startFleet(schema.url, ['api', 'api', 'worker', 'worker', 'worker']);
    cleanups.push(() => fleet.stop());
    cleanups.push(() => {
      if (process.env.HERALD_FLEET_LOGS) for (const p of fleet.processes) console.log(p.output());
    });
    const [a, b] = fleet.processes.map((p) => p.url);
    expect((await api(a as string, 'POST', '/v1/endpoints', { url: receiver.url })).status).toBe(201);

    const began = Date.now();
    const accepted = await publishMany([a as string, b as string], EVENTS);
    const published = Date.now();
    expect(accepted).toHaveLength(EVENTS);
    await waitFor(() => receiver.counts.size >= EVENTS, 150_000, `${EVENTS} distinct webhooks`);
    const delivered = Date.now();
    // Let any duplicate that is still on its way arrive before counting.
    await waitFor(
      async () =>
        (
          await query<{ n: number }>(
            pgUrl as string,
            schema.schema,
            "SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'",
          )
        )[0]?.n === 0,
      30_000,
      'no pending delivery',
    );
    console.log(
      `scale-postgres: ${EVENTS} events published in ${published - began} ms, all delivered after ${delivered - began} ms (2 api + 3 worker processes)`,
    );

    expect([...receiver.counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(new Set(receiver.counts.keys())).toEqual(new Set(accepted));
    const [stats] = await query<{ deliveries: number; attempts: number; once: number; gaps: number }>(
      pgUrl as string,
      schema.schema,
      `SELECT (SELECT count(*)::int FROM deliveries) AS deliveries,
              (SELECT count(*)::int FROM attempts) AS attempts,
              (SELECT count(*)::int FROM deliveries WHERE status = 'succeeded' AND attempt_count = 1) AS once,
              (SELECT max(sequence) - count(*) FROM deliveries)::int AS gaps`,
    );
    expect(stats).toEqual({ deliveries: EVENTS, attempts: EVENTS, once: EVENTS, gaps: 0 });
  });
});
