/**
 * kill -9 of the receiving process while handlers run (acceptance 6), and two processes sharing one
 * Postgres inbox (acceptance 8). The processes run the BUILT library: `npm run build` first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPostgres, testSchema } from './support/postgres.js';
import { type ReceiverProcess, receiverBuilt, spawnReceiver } from './support/processes.js';
import { envelope, post, SECRET, signed, waitFor } from './support/webhooks.js';

if (!receiverBuilt()) throw new Error('These tests spawn the built receiver: run `npm run build` first.');

const pgUrl = await findPostgres();
const processes: ReceiverProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill()));
});

/** A store both the test and the processes reach: where effects are counted. */
interface Store {
  env: Record<string, string>;
  count(): Promise<{ rows: number; distinct: number }>;
  pending(): Promise<number>;
  close(): Promise<void>;
}

async function sqliteStore(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
  const file = join(dir, 'inbox.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE effects (event_id TEXT NOT NULL, pid INTEGER NOT NULL)');
  return {
    env: { INBOX_URL: file, EFFECTS_TABLE: 'effects' },
    async count() {
      return db.prepare('SELECT count(*) AS rows, count(DISTINCT event_id) AS "distinct" FROM effects').get() as {
        rows: number;
        distinct: number;
      };
    },
    async pending() {
      const row = db.prepare("SELECT count(*) AS n FROM herald_inbox WHERE status <> 'processed'").get() as {
        n: number;
      };
      return row.n;
    },
    async close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresStore(url: string, schema: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const table = `inbox_${Math.random().toString(36).slice(2, 8)}`;
  const effects = `"${schema}"."${table}_effects"`;
  await pool.query(`CREATE TABLE ${effects} (event_id TEXT NOT NULL, pid INTEGER NOT NULL)`);
  return {
    env: { INBOX_URL: url, INBOX_SCHEMA: schema, INBOX_TABLE: table, EFFECTS_TABLE: effects },
    async count() {
      const r = await pool.query(
        `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS "distinct" FROM ${effects}`,
      );
      return r.rows[0];
    },
    async pending() {
      const r = await pool.query(`SELECT count(*)::int AS n FROM "${schema}"."${table}" WHERE status <> 'processed'`);
      return r.rows[0].n;
    },
    close: () => pool.end(),
  };
}

/**
 * With the default lease (30 s): the claims of the killed process must be let go when the next
 * process starts on this host, not when they run out (acceptance 4: within 5 s of the restart).
 */
async function killWhileHandling(store: Store): Promise<void> {
  const env = { ...store.env, SECRET, HANDLER_MS: '60', LEASE_MS: '30000' };
  const first = await spawnReceiver(env);
  processes.push(first);
  const events = Array.from({ length: 60 }, () => envelope());
  const statuses = await Promise.all(events.map((e) => post(first.url, signed(e)).then((r) => r.status)));
  expect(statuses.every((s) => s === 200)).toBe(true);
  await waitFor(async () => (await store.count()).rows >= 5, 10_000, 'the first effects');
  await first.kill('SIGKILL');
  const atKill = await store.count();
  // The crash came mid-way: the test shows nothing if every event was already done.
  expect(atKill.rows).toBeLessThan(events.length);

  const second = await spawnReceiver(env);
  processes.push(second);
  await waitFor(async () => (await store.pending()) === 0, 5_000, 'every accepted event processed within 5 s');
  expect(await store.count()).toEqual({ rows: events.length, distinct: events.length });
}

describe('a receiving process killed with SIGKILL while handlers run (acceptance 6)', () => {
  it('SQLite: every accepted event is processed within 5 s of the restart, its ctx.transaction effects exactly once', async () => {
    const store = await sqliteStore();
    try {
      await killWhileHandling(store);
    } finally {
      await store.close();
    }
  });

  describe.skipIf(pgUrl === null)('PostgreSQL', () => {
    let schema: { schema: string; drop(): Promise<void> };
    beforeAll(async () => {
      schema = await testSchema(pgUrl!);
    });
    afterAll(async () => {
      await schema?.drop();
    });

    it('every accepted event is processed within 5 s of the restart, its ctx.transaction effects exactly once', async () => {
      const store = await postgresStore(pgUrl!, schema.schema);
      try {
        await killWhileHandling(store);
      } finally {
        await store.close();
      }
    });

    it('two processes share one inbox without handling an event twice (acceptance 8)', async () => {
      const store = await postgresStore(pgUrl!, schema.schema);
      try {
        const env = { ...store.env, SECRET, HANDLER_MS: '15', LEASE_MS: '10000' };
        const a = await spawnReceiver(env);
        const b = await spawnReceiver(env);
        processes.push(a, b);
        const events = Array.from({ length: 120 }, () => envelope());
        // Deliveries land on either process, as behind a load balancer; both process the shared inbox.
        const statuses = await Promise.all(events.map((e, i) => post((i % 2 ? a : b).url, signed(e))));
        expect(statuses.every((r) => r.status === 200)).toBe(true);
        await waitFor(async () => (await store.pending()) === 0, 20_000, 'every event processed');
        const handled = [...a.handled, ...b.handled];
        expect(handled.length).toBe(events.length);
        expect(new Set(handled).size).toBe(events.length);
        expect(a.handled.length).toBeGreaterThan(0);
        expect(b.handled.length).toBeGreaterThan(0);
        expect(await store.count()).toEqual({ rows: events.length, distinct: events.length });
      } finally {
        await store.close();
      }
    });
  });
});
