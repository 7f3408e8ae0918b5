import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxSuite } from '../../test/inbox-suite.js';
import { findPostgres, testSchema } from '../../test/support/postgres.js';
import { postgresInbox } from './postgres.js';
import { INBOX_SCHEMA_VERSION, POSTGRES_STEPS } from './schema.js';

const url = await findPostgres();

describe.skipIf(url === null)('PostgreSQL inbox', () => {
  let schema = '';
  let drop: () => Promise<void> = async () => {};
  let pool: pg.Pool;
  beforeAll(async () => {
    ({ schema, drop } = await testSchema(url!));
    pool = new pg.Pool({ connectionString: url!, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await drop();
  });

  const rewrite = (store: string, text: string) => {
    let n = 0;
    return text.replaceAll('{effects}', `"${schema}"."effects_${store}"`).replaceAll('?', () => `$${++n}`);
  };

  inboxSuite('PostgreSQL', {
    create: (store) => postgresInbox({ connectionString: url!, schema, table: `inbox_${store}`, max: 4 }),
    sql: rewrite,
    async query(store, text, params = []) {
      return (await pool.query(rewrite(store, text), params)).rows;
    },
  });

  it('creates its tables once when several processes open it at the same moment', async () => {
    const inboxes = Array.from({ length: 4 }, () =>
      postgresInbox({ connectionString: url!, schema, table: 'inbox_race', max: 2 }),
    );
    await Promise.all(inboxes.map((i) => i.open()));
    await Promise.all(inboxes.map((i) => i.close()));
    const tables = await pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'inbox_race%'
       ORDER BY table_name`,
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'inbox_race',
      'inbox_race_conflicts',
      'inbox_race_cursors',
      'inbox_race_keys',
      'inbox_race_schema',
      'inbox_race_streams',
    ]);
  });

  it('records its schema version, and refuses an inbox whose tables a newer version of the library wrote', async () => {
    const inbox = postgresInbox({ connectionString: url!, schema, table: 'inbox_version', max: 1 });
    await inbox.open();
    await inbox.close();
    const recorded = await pool.query(`SELECT version FROM "${schema}".inbox_version_schema`);
    expect(recorded.rows).toEqual([{ version: INBOX_SCHEMA_VERSION }]);
    await pool.query(`UPDATE "${schema}".inbox_version_schema SET version = 99`);
    await expect(
      postgresInbox({ connectionString: url!, schema, table: 'inbox_version', max: 1 }).open(),
    ).rejects.toThrow(`PostgreSQL inbox ${schema}.inbox_version has schema version 99`);
  });

  it('gives pending events of an inbox at schema version 1 (before the streams) a stream, so they do not wait', async () => {
    const q = (table: string) => `"${schema}"."inbox_upgrade${table}"`;
    await pool.query(
      POSTGRES_STEPS[0]!({
        events: q(''),
        conflicts: q('_conflicts'),
        keys: q('_keys'),
        cursors: q('_cursors'),
        streams: q('_streams'),
        prefix: 'inbox_upgrade',
      }),
    );
    await pool.query(`CREATE TABLE ${q('_schema')} (version INTEGER NOT NULL); INSERT INTO ${q('_schema')} VALUES (1)`);
    for (const sequence of [6, 5]) {
      await pool.query(
        `INSERT INTO ${q('')} (id, type, order_key, endpoint_id, sequence, occurred_at, body, body_hash, source,
                               received_at, next_attempt_at)
         VALUES ($1, 't', 'k', 'ep_old', $2, '', '{}', 'h', 'webhook', 1, 1)`,
        [`evt_${sequence}`, sequence],
      );
    }
    const inbox = postgresInbox({ connectionString: url!, schema, table: 'inbox_upgrade', max: 2 });
    await inbox.open();
    try {
      const claimed = await inbox.claim({ workerId: 'w', now: Date.now() + 60_000, leaseMs: 1000, limit: 9 });
      expect(claimed.map((e) => e.sequence)).toEqual([5]);
      expect(await inbox.streams()).toEqual([{ endpointId: 'ep_old', contiguous: 6, highest: 6 }]);
    } finally {
      await inbox.close();
    }
    const recorded = await pool.query(`SELECT version FROM ${q('_schema')}`);
    expect(recorded.rows).toEqual([{ version: INBOX_SCHEMA_VERSION }]);
  });
});
