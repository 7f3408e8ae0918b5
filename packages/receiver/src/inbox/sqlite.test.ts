import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { inboxSuite, newEvent } from '../../test/inbox-suite.js';
import { sqliteInbox } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-inbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (store: string) => join(dir, `${store}.db`);
const rewrite = (text: string) => text.replaceAll('{effects}', 'effects');

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

  it('gives pending events of an inbox from before the streams table a stream, so they do not wait', async () => {
    const inbox = sqliteInbox(file('upgrade'));
    await inbox.open();
    const events = [6, 5].map((sequence) => newEvent({ orderKey: 'k', endpointId: 'ep_old', sequence }));
    await inbox.insert(events);
    await inbox.close();
    const db = new Database(file('upgrade'));
    db.exec('DROP TABLE herald_inbox_streams');
    db.close();
    await inbox.open();
    const claimed = await inbox.claim({ workerId: 'w', now: Date.now() + 60_000, leaseMs: 1000, limit: 9 });
    expect(claimed.map((e) => e.sequence)).toEqual([5]);
    await inbox.close();
  });

  it('refuses a table name that is not a plain identifier', () => {
    expect(() => sqliteInbox({ filename: file('x'), table: 'inbox; DROP TABLE users' })).toThrow(/identifier/);
  });
});
