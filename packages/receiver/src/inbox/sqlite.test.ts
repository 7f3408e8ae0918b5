import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { inboxSuite } from '../../test/inbox-suite.js';
import { INBOX_SCHEMA_VERSION, type InboxTableNames, SQLITE_STEPS } from './schema.js';
import { sqliteInbox } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-inbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (store: string) => join(dir, `${store}.db`);
const rewrite = (text: string) => text.replaceAll('{effects}', 'effects');
/** The default table's names, to build an inbox as an older version of the library left it. */
const names: InboxTableNames = {
  events: 'herald_inbox',
  conflicts: 'herald_inbox_conflicts',
  keys: 'herald_inbox_keys',
  cursors: 'herald_inbox_cursors',
  streams: 'herald_inbox_streams',
  prefix: 'herald_inbox',
};

inboxSuite('SQLite', {
  create: (store) => sqliteInbox(file(store)),
  sql: (_store, text) => rewrite(text),
  async query(store, text, params = []) {
    const db = new Database(file(store));
    try {
      const statement = db.prepare(rewrite(text));
      if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
      statement.run(...params);
      return [];
    } finally {
      db.close();
    }
  },
});

describe('SQLite inbox', () => {
  it('runs in WAL mode with synchronous = FULL, so a commit survives a power cut', async () => {
    const inbox = sqliteInbox({ filename: file('pragmas'), table: 'hooks' });
    await inbox.open();
    await inbox.close();
    const db = new Database(file('pragmas'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // synchronous is per connection: check what the inbox sets by reading it through one.
    db.close();
    const probe = sqliteInbox({ filename: file('pragmas'), table: 'hooks' });
    await probe.open();
    const unit = probe.begin();
    expect(await unit.transaction.all('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    await probe.close();
  });

  it('records its schema version; an inbox made before versions existed adopts it and keeps its events', async () => {
    const legacy = new Database(file('legacy'));
    legacy.exec(SQLITE_STEPS[0]!(names));
    legacy.exec(`INSERT INTO herald_inbox (id, type, endpoint_id, sequence, occurred_at, body, body_hash, source, received_at, next_attempt_at)
                 VALUES ('evt_old', 't', 'ep', 1, '', '{}', 'h', 'webhook', 1, 1)`);
    legacy.close();
    const inbox = sqliteInbox(file('legacy'));
    await inbox.open();
    expect((await inbox.get('evt_old'))?.status).toBe('pending');
    await inbox.close();
    const db = new Database(file('legacy'));
    expect(db.prepare('SELECT version FROM herald_inbox_schema').all()).toEqual([{ version: INBOX_SCHEMA_VERSION }]);
    db.close();
  });

  it('gives pending events of an inbox at schema version 1 (before the streams) a stream, so they do not wait', async () => {
    const old = new Database(file('upgrade'));
    old.exec(SQLITE_STEPS[0]!(names));
    old.exec('CREATE TABLE herald_inbox_schema (version INTEGER NOT NULL); INSERT INTO herald_inbox_schema VALUES (1)');
    for (const sequence of [6, 5]) {
      old
        .prepare(`INSERT INTO herald_inbox (id, type, order_key, endpoint_id, sequence, occurred_at, body, body_hash,
                                            source, received_at, next_attempt_at)
                  VALUES (?, 't', 'k', 'ep_old', ?, '', '{}', 'h', 'webhook', 1, 1)`)
        .run(`evt_${sequence}`, sequence);
    }
    old.close();
    const inbox = sqliteInbox(file('upgrade'));
    await inbox.open();
    const claimed = await inbox.claim({ workerId: 'w', now: Date.now() + 60_000, leaseMs: 1000, limit: 9 });
    expect(claimed.map((e) => e.sequence)).toEqual([5]);
    expect(await inbox.streams()).toEqual([{ endpointId: 'ep_old', contiguous: 6, highest: 6 }]);
    await inbox.close();
    const db = new Database(file('upgrade'));
    expect(db.prepare('SELECT version FROM herald_inbox_schema').all()).toEqual([{ version: INBOX_SCHEMA_VERSION }]);
    db.close();
  });

  it('refuses, naming the file, an inbox whose tables a newer version of the library wrote', async () => {
    await sqliteInbox(file('newer')).open();
    const db = new Database(file('newer'));
    db.exec('UPDATE herald_inbox_schema SET version = 99');
    db.close();
    await expect(sqliteInbox(file('newer')).open()).rejects.toThrow(
      new RegExp(`${file('newer')}.*schema version 99, newer than this @herald/receiver knows`),
    );
  });

  it('refuses a table name that is not a plain identifier', () => {
    expect(() => sqliteInbox({ filename: file('x'), table: 'inbox; DROP TABLE users' })).toThrow(/identifier/);
  });
});
