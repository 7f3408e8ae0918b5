import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { api } from './herald-process.js';
import { findPostgres, testSchema } from './pg-database.js';
import { query, startFleet, waitFor } from './pg-fleet.js';
import { tempDir } from './temp-dir.js';

const pgUrl = await findPostgres();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A receiver that holds each request `delayMs` and keeps, per path, the most requests it held open at once. */
async function slowReceiver(delayMs: number) {
  const open = new Map<string, number>();
  const maxOpen = new Map<string, number>();
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = String(req.url);
    const key = `${path} ${String(req.headers['webhook-id'])}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    open.set(path, (open.get(path) ?? 0) + 1);
    maxOpen.set(path, Math.max(maxOpen.get(path) ?? 0, open.get(path) ?? 0));
    req.resume();
    setTimeout(() => {
      open.set(path, (open.get(path) ?? 1) - 1);
      res.end('ok');
    }, delayMs);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    maxOpen,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Each store the fleet can share: PostgreSQL, and one SQLite file on one machine. */
const STORES = [
  {
    name: 'PostgreSQL',
    skip: pgUrl === null,
    open() {
      const schema = testSchema(pgUrl as string);
      const count = async (table: string) =>
        (await query<{ n: number }>(pgUrl as string, schema.schema, `SELECT count(*)::int AS n FROM ${table}`))[0]?.n;
      return { db: schema.url, drop: () => schema.drop(), count };
    },
  },
  {
    name: 'one SQLite file',
    skip: false,
    open() {
      const tmp = tempDir('herald-fleet-');
      const db = join(tmp.dir, 'herald.db');
      const count = async (table: string) => {
        const sqlite = new BetterSqlite3(db, { readonly: true });
        try {
          return (sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        } finally {
          sqlite.close();
        }
      };
      return { db, drop: () => tmp.remove(), count };
    },
  },
];

describe.each(STORES)('three workers on $name, coordinated by the database', ({ skip, open }) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it.skipIf(skip)(
    "hold each endpoint's cap on requests in flight across processes, and run each periodic check once per interval",
    {
      timeout: 90_000,
    },
    async () => {
      const store = open();
      cleanups.push(() => store.drop());
      const receiver = await slowReceiver(150);
      cleanups.push(() => receiver.close());

      const began = Date.now();
      const fleet = await startFleet(
        store.db,
        ['api', 'worker', 'worker', 'worker'],
        ['--endpoint-concurrency', '2', '--check-interval', '1s', '--log-level', 'debug'],
      );
      cleanups.push(() => fleet.stop());
      const [apiProcess, ...workers] = fleet.processes;
      // Four processes started at once on a new database: the migrations ran once each, and one of the
      // four made the account and its bootstrap key.
      expect([await store.count('accounts'), await store.count('api_keys')]).toEqual([1, 1]);
      const apiUrl = (apiProcess as { url: string }).url;
      for (const path of ['/a', '/b']) {
        expect((await api(apiUrl, 'POST', '/v1/endpoints', { url: receiver.base + path })).status).toBe(201);
      }

      // One event every 25 ms, each to both endpoints: the first worker to claim (woken by NOTIFY on
      // PostgreSQL, by its 250 ms poll on SQLite) takes it, so the work lands on all of them. With a cap per process only, each
      // worker would hold up to 2 of an endpoint's requests open: about 150 / 25 = 6 at once.
      const events = 40;
      for (let n = 0; n < events; n++) {
        expect((await api(apiUrl, 'POST', '/v1/events', { type: 'order.created', data: { n } })).status).toBe(202);
        await sleep(25);
      }
      await waitFor(() => receiver.seen.size >= 2 * events, 30_000, `${2 * events} deliveries`);
      expect([...receiver.seen.values()].filter((n) => n !== 1)).toEqual([]);
      expect(Object.fromEntries(receiver.maxOpen)).toEqual({ '/a': 2, '/b': 2 });

      // The checks: every worker has a 1 s timer for each, and each run asks the database first.
      await sleep(Math.max(0, 5_000 - (Date.now() - began)));
      const elapsedMs = Date.now() - began;
      const runs = (check: string) =>
        workers
          .flatMap((w) => w.output().split('\n'))
          .filter((line) => line.includes('"msg":"background check ran"') && line.includes(`"check":"${check}"`))
          .length;
      for (const check of ['alerts', 'disable-failing-endpoints']) {
        // Once per interval (90 % of it at the soonest) across the fleet; without the turn taking,
        // three workers would run it three times as often.
        expect(runs(check), check).toBeGreaterThanOrEqual(3);
        expect(runs(check), check).toBeLessThanOrEqual(Math.floor(elapsedMs / 900) + 1);
      }
      // Retention's interval is an hour: one run, by whichever worker started first.
      expect(runs('retention')).toBe(1);
    },
  );
});
