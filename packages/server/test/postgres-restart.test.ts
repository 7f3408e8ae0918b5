import { afterEach, describe, expect, it } from 'vitest';
import { proxyOutage, realOutage } from '../../../soak/outage.js';
import type { HeraldProcess } from './herald-process.js';
import { api } from './herald-process.js';
import { findPostgres, testSchema } from './pg-database.js';
import { query, startCountingReceiver, startFleet, waitFor } from './pg-fleet.js';

const pgUrl = await findPostgres();
/**
 * In CI (CI=true), or with HERALD_TEST_PG_RESTART=1, the machine's real cluster is stopped and
 * started (pg_ctlcluster). CI may: this file runs in the `system` group, one file at a time after
 * everything else, so no other test uses PostgreSQL meanwhile. On a developer's machine, where other
 * things may share that cluster, the outage is by default a TCP proxy between Herald and PostgreSQL
 * that drops every connection and refuses new ones: what Herald sees of a restart.
 */
const REAL_RESTART = process.env.HERALD_TEST_PG_RESTART === '1' || process.env.CI === 'true';

describe.skipIf(pgUrl === null)('PostgreSQL going away during a run', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`answers 503 with retry-after while it is down, then delivers every acknowledged event (${REAL_RESTART ? 'real restart' : 'proxy outage'})`, {
    // Each phase below has its own, shorter deadline, so a failure names its phase (and prints every
    // process's output) well before the test's own timeout.
    timeout: 180_000,
  }, async () => {
    const schema = testSchema(pgUrl as string);
    cleanups.push(() => schema.drop());
    const outage = REAL_RESTART ? realOutage(schema.url) : await proxyOutage(schema.url);
    cleanups.push(() => outage.close());
    const receiver = await startCountingReceiver();
    cleanups.push(() => receiver.close());
    const fleet = await startFleet(outage.url, ['api', 'worker'], ['--claim-lease', '2s']);
    cleanups.push(() => fleet.stop());
    const [apiProcess, workerProcess] = fleet.processes as [HeraldProcess, HeraldProcess];
    const exits: string[] = [];
    for (const p of fleet.processes)
      void p.exited.then((code) => exits.push(`${p === apiProcess ? 'api' : 'worker'} exited (${code})`));
    // A process that exits ends the wait at once, rather than when the phase's deadline passes.
    const alive = (check: () => boolean) => () => {
      if (exits.length > 0) throw new Error(exits.join('; '));
      return check();
    };
    const apiUrl = apiProcess.url;
    expect((await api(apiUrl, 'POST', '/v1/endpoints', { url: receiver.url })).status).toBe(201);

    const started = Date.now();
    const phases: string[] = [];
    const phase = (what: string) => phases.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${what}`);
    const accepted = new Set<string>();
    const statuses = new Map<number | string, number>();
    let unavailableWithRetryAfter = 0;
    let slowest = 0;
    let upAt = 0;
    let firstAcceptedAfterUp = 0;
    let stop = false;
    const publishers = Array.from({ length: 8 }, async (_, p) => {
      for (let i = 0; !stop; i++) {
        const began = Date.now();
        // A request that fails outright (the API gone, its connection reset) is counted, not thrown:
        // the assertions below report it, rather than an unhandled rejection after the test.
        const r = await api(apiUrl, 'POST', '/v1/events', { type: 'order.created', data: { p, i } }).catch(
          (error: Error) => ({
            status: `fetch failed: ${(error.cause as Error | undefined)?.message ?? error.message}`,
            body: undefined,
            headers: undefined,
          }),
        );
        slowest = Math.max(slowest, Date.now() - began);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 202) {
          accepted.add(r.body.id as string);
          if (upAt && !firstAcceptedAfterUp) firstAcceptedAfterUp = Date.now() - upAt;
        }
        if (r.status === 503 && r.body.error?.code === 'SERVICE_UNAVAILABLE' && r.headers?.get('retry-after')) {
          unavailableWithRetryAfter++;
        }
        if (r.status !== 202) await new Promise((res) => setTimeout(res, 50));
      }
    });
    const summary = () =>
      `statuses ${JSON.stringify(Object.fromEntries(statuses))}, accepted ${accepted.size}, delivered ` +
      `${[...accepted].filter((id) => receiver.counts.has(id)).length} of them, slowest answer ${slowest} ms, ` +
      `first 202 ${firstAcceptedAfterUp} ms after PostgreSQL came back`;

    try {
      await waitFor(
        alive(() => accepted.size >= 200),
        30_000,
        '200 accepted events before the outage',
      );
      phase(`${accepted.size} accepted; PostgreSQL going down`);
      await outage.down();
      const downAt = Date.now();
      phase('PostgreSQL down');
      await waitFor(
        alive(() => unavailableWithRetryAfter >= 5),
        15_000,
        '503 answers while PostgreSQL is down',
      );
      phase(`${unavailableWithRetryAfter} answers 503 with retry-after`);
      const acceptedWhileDown = accepted.size;
      await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - downAt))));
      await outage.up();
      upAt = Date.now();
      phase('PostgreSQL back');
      const before = accepted.size;
      await waitFor(
        alive(() => accepted.size >= before + 200),
        30_000,
        '200 more accepted events after it came back',
      );
      phase(`${accepted.size} accepted; publishers stopping`);
      stop = true;
      await Promise.all(publishers);

      await waitFor(
        alive(() => [...accepted].every((id) => receiver.counts.has(id))),
        60_000,
        'every acknowledged event to be delivered',
      );
      phase('every acknowledged event delivered');
      // The receiver counts a webhook before Herald records the attempt's 200 (attempts are written
      // in batches, after the answer), and a publish answered 503 may still have committed: a
      // delivery can stay pending a little after the last acknowledged one arrived. Wait for none.
      const notSucceeded = async () =>
        (
          await query<{ n: number }>(
            pgUrl as string,
            schema.schema,
            "SELECT count(*)::int AS n FROM deliveries WHERE status <> 'succeeded'",
          )
        )[0]?.n;
      await waitFor(async () => (await notSucceeded()) === 0, 30_000, 'every delivery recorded as succeeded');
      phase('every delivery recorded as succeeded');
      console.log(`postgres-restart: ${summary()} (${acceptedWhileDown} by the outage)\n  ${phases.join('\n  ')}`);
      expect(exits).toEqual([]);
      expect([...statuses.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
      expect(slowest).toBeLessThan(10_000);
      expect(await notSucceeded()).toBe(0);
    } catch (error) {
      stop = true;
      console.error(
        `postgres-restart failed: ${summary()}\n  ${phases.join('\n  ')}\n${exits.join('\n')}\n` +
          `--- herald api output ---\n${apiProcess.output()}\n--- herald worker output ---\n${workerProcess.output()}`,
      );
      throw error;
    } finally {
      stop = true;
      await Promise.all(publishers);
    }
  });
});
