import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { proxyOutage, realOutage } from './outage.js';

/**
 * Where a soak keeps its state, and how the ledger check reads it back: Herald's database, the
 * receivers' inbox and the effects table their handler writes. The check reads the databases
 * directly, never through Herald or the receivers, and never through the outage proxy.
 */

/** effects: Map event id → rows; pending: deliveries Herald has not finished, events the inbox has not. */
function sqliteReads(heraldFile, inboxFile) {
  const read = (file, sql, ...params) => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    try {
      return db.prepare(sql).all(...params);
    } finally {
      db.close();
    }
  };
  return {
    async effects() {
      const rows = read(inboxFile, 'SELECT event_id, count(*) AS n FROM soak_effects GROUP BY event_id');
      return new Map(rows.map((r) => [r.event_id, r.n]));
    },
    async pending() {
      const herald = read(
        heraldFile,
        "SELECT status, count(*) AS n FROM deliveries WHERE status <> 'succeeded' GROUP BY status",
      );
      const inbox = read(
        inboxFile,
        "SELECT status, count(*) AS n FROM herald_inbox WHERE status <> 'processed' GROUP BY status",
      );
      return {
        herald: Object.fromEntries(herald.map((r) => [r.status, r.n])),
        inbox: Object.fromEntries(inbox.map((r) => [r.status, r.n])),
      };
    },
    async whereIs(ids) {
      const list = JSON.stringify(ids);
      const herald = read(
        heraldFile,
        'SELECT event_id, status, attempt_count FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?))',
        list,
      );
      const inbox = read(
        inboxFile,
        'SELECT id, status, attempts FROM herald_inbox WHERE id IN (SELECT value FROM json_each(?))',
        list,
      );
      return { herald, inbox };
    },
  };
}

/** `workers`: `herald worker` processes beside `herald serve` on the same file (default none). */
export function sqliteStore({ keep = false, workers = 0 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-soak-'));
  const heraldFile = join(dir, 'herald.db');
  const inboxFile = join(dir, 'inbox.db');
  const db = new Database(inboxFile);
  db.pragma('journal_mode = WAL');
  // No unique key on purpose: a doubled effect must show as a second row, not as an error.
  db.exec('CREATE TABLE soak_effects (event_id TEXT NOT NULL, pid INTEGER NOT NULL)');
  db.close();
  return {
    name: 'sqlite',
    where: dir,
    herald: { roles: ['serve', ...Array.from({ length: workers }, () => 'worker')], db: heraldFile },
    receiverEnv: { SOAK_INBOX: inboxFile, SOAK_EFFECTS: 'soak_effects' },
    outage: undefined,
    ...sqliteReads(heraldFile, inboxFile),
    async close() {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const POSTGRES_URL = process.env.HERALD_SOAK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresReachable(url = POSTGRES_URL) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** One schema for Herald, one for the receivers' inbox and effects; both dropped at the end. */
export async function postgresStore({ keep = false, realRestart = false, workers = 2 } = {}) {
  const base = POSTGRES_URL;
  const schema = `herald_soak_${randomBytes(5).toString('hex')}`;
  const inboxSchema = `${schema}_rx`;
  const pool = new pg.Pool({ connectionString: base, max: 2 });
  pool.on('error', () => {});
  await pool.query(`CREATE SCHEMA ${inboxSchema}`);
  await pool.query(`CREATE TABLE ${inboxSchema}.soak_effects (event_id TEXT NOT NULL, pid INTEGER NOT NULL)`);
  const outage = realRestart ? realOutage(base) : await proxyOutage(base);
  const heraldUrl = new URL(outage.url);
  heraldUrl.searchParams.set('schema', schema);
  const rows = async (sql, values) => {
    // A read during a real restart waits for PostgreSQL to come back rather than failing the check.
    for (let attempt = 1; ; attempt++) {
      try {
        return (await pool.query(sql, values)).rows;
      } catch (error) {
        if (attempt >= 30) throw error;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  return {
    name: 'postgres',
    where: `schemas ${schema} and ${inboxSchema}`,
    herald: { roles: ['api', ...Array.from({ length: workers }, () => 'worker')], db: heraldUrl.toString() },
    receiverEnv: {
      SOAK_INBOX: outage.url,
      SOAK_INBOX_SCHEMA: inboxSchema,
      SOAK_EFFECTS: `${inboxSchema}.soak_effects`,
    },
    outage,
    async effects() {
      const r = await rows(`SELECT event_id, count(*)::int AS n FROM ${inboxSchema}.soak_effects GROUP BY event_id`);
      return new Map(r.map((x) => [x.event_id, x.n]));
    },
    async pending() {
      const herald = await rows(
        `SELECT status, count(*)::int AS n FROM ${schema}.deliveries WHERE status <> 'succeeded' GROUP BY status`,
      );
      const inbox = await rows(
        `SELECT status, count(*)::int AS n FROM ${inboxSchema}.herald_inbox WHERE status <> 'processed' GROUP BY status`,
      );
      return {
        herald: Object.fromEntries(herald.map((r) => [r.status, r.n])),
        inbox: Object.fromEntries(inbox.map((r) => [r.status, r.n])),
      };
    },
    async whereIs(ids) {
      const herald = await rows(
        `SELECT event_id, status, attempt_count FROM ${schema}.deliveries WHERE event_id = ANY($1::text[])`,
        [ids],
      );
      const inbox = await rows(
        `SELECT id, status, attempts FROM ${inboxSchema}.herald_inbox WHERE id = ANY($1::text[])`,
        [ids],
      );
      return { herald, inbox };
    },
    async close() {
      await outage.close();
      if (!keep) {
        await rows(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await rows(`DROP SCHEMA IF EXISTS ${inboxSchema} CASCADE`);
      }
      await pool.end();
    },
  };
}
