import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/store/postgres.js';
import { POSTGRES_MIGRATIONS } from '../src/store/postgres-migrations.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite-migrations.js';
import type { Store } from '../src/store/types.js';
import { findPostgres, testSchema } from './pg-database.js';
import { tempDir } from './temp-dir.js';

const pgUrl = await findPostgres();
const account = 'acct_01JDHISTORYMIGRATION000000';
const opened = Date.parse('2026-11-27T06:00:00.000Z');
const ALERT_ROW = `INSERT INTO alerts (account_id, key, kind, endpoint_id, value, threshold, opened_at)
  VALUES ('${account}', 'endpoint_failure_rate:ep_1', 'endpoint_failure_rate', 'ep_1', 0.7, 0.5, ${opened})`;

/** The migration that adds alert_history: found by what it creates, wherever later ones append. */
const historyAt = (migrations: readonly string[]) =>
  migrations.findIndex((m) => m.includes('CREATE TABLE alert_history'));

/** An alert open before the upgrade is listed after it, and resolves like any other. */
async function expectCarriedOver(store: Store) {
  const listed = await store.listAlerts(account, { resolvedSince: 0, limit: 10 });
  expect(listed.data).toEqual([
    {
      id: expect.stringMatching(/^alrt_/),
      accountId: account,
      key: 'endpoint_failure_rate:ep_1',
      kind: 'endpoint_failure_rate',
      endpointId: 'ep_1',
      value: 0.7,
      threshold: 0.5,
      openedAt: opened,
      message: '',
      details: {},
      resolvedAt: null,
    },
  ]);
  expect(await store.closeAlert(account, 'endpoint_failure_rate:ep_1')).toBe(true);
  const after = await store.listAlerts(account, { state: 'resolved', resolvedSince: 0, limit: 10 });
  expect(after.data.map((a) => a.id)).toEqual([listed.data[0]?.id]);
}

describe('the alert history migration', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('carries the alerts open before it into the history (SQLite)', async () => {
    const tmp = tempDir('herald-history-');
    cleanups.push(async () => tmp.remove());
    const file = join(tmp.dir, 'herald.db');
    const before = new Database(file);
    const at = historyAt(SQLITE_MIGRATIONS);
    for (const m of SQLITE_MIGRATIONS.slice(0, at)) before.exec(m);
    before.pragma(`user_version = ${at}`);
    before.exec(`INSERT INTO accounts VALUES ('${account}', 0); ${ALERT_ROW}`);
    before.close();

    const store = openSqliteStore(file);
    cleanups.push(() => store.close());
    await expectCarriedOver(store);
  });

  it.skipIf(pgUrl === null)('carries the alerts open before it into the history (PostgreSQL)', async () => {
    const schema = testSchema(pgUrl as string);
    cleanups.push(() => schema.drop());
    const client = new pg.Client({ connectionString: pgUrl as string });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema.schema}; SET search_path TO ${schema.schema}`);
      await client.query('CREATE TABLE herald_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const at = historyAt(POSTGRES_MIGRATIONS);
      for (let i = 0; i < at; i++) {
        await client.query(POSTGRES_MIGRATIONS[i] as string);
        await client.query('INSERT INTO herald_migrations VALUES ($1, 0)', [i + 1]);
      }
      await client.query(`INSERT INTO accounts VALUES ('${account}', 0); ${ALERT_ROW}`);
    } finally {
      await client.end();
    }

    const store = await openPostgresStore(schema.url);
    cleanups.push(() => store.close());
    await expectCarriedOver(store);
  });
});
