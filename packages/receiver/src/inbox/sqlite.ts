import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { sameEventBody } from '../event.js';
import { describeError } from '../log.js';
import {
  type ConflictRow,
  checkIdentifier,
  type EventRow,
  type KeyRow,
  type StreamRow,
  toConflict,
  toEvent,
  toPosition,
  toStream,
} from './rows.js';
import { INBOX_SCHEMA_VERSION, newerSchemaError, SQLITE_STEPS } from './schema.js';
import {
  type ClaimInput,
  type Completion,
  type Failure,
  HandlerWriteError,
  type Inbox,
  type InboxContext,
  type InboxEvent,
  type InboxTransaction,
  type InboxUnit,
  type InsertOutcome,
  type ListQuery,
  type NewInboxEvent,
  type ReplayTarget,
} from './types.js';

export interface SqliteInboxOptions {
  /**
   * The database file; created with its tables if missing.
   * @example 'inbox.db'
   */
  filename: string;
  /**
   * The prefix of the inbox's tables, so that it can live in the application's own database.
   * @default 'herald_inbox'
   */
  table?: string;
  /**
   * How long a write, or the open, waits for another process's lock before it fails, ms.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

type Statement = Database.Statement<unknown[], unknown>;

/**
 * What an insert's error says (see Inbox.insertFault): a busy, locked, full, read-only or unreadable
 * file, or a closed database, is `unavailable`; a value SQLite refuses (too big, a constraint a row
 * breaks) is `refused`. SQLite text takes U+0000, so a NUL that PostgreSQL refuses is stored here.
 */
export function sqliteInsertFault(error: unknown): 'unavailable' | 'refused' | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|NOTADB|CORRUPT)/.test(code)) return 'unavailable';
    if (/^SQLITE_(TOOBIG|MISMATCH|CONSTRAINT)/.test(code)) return 'refused';
  }
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && /database connection is not open|is not open/i.test(message)) return 'unavailable';
  return undefined;
}

/** Between tries of the switch to WAL: the switch, or a migration of the process holding the lock, takes a few ms. */
const WAL_SWITCH_RETRY_MS = 10;

/**
 * Switches the file to WAL, trying again for up to `waitMs` while another connection holds it. The
 * switch reads the file and then takes the write lock, and SQLite refuses that upgrade at once
 * (SQLITE_BUSY) instead of waiting out busy_timeout: a reader waiting for the write lock could
 * deadlock with another. Processes starting at once on a new file (an application's workers) meet
 * it: one switches, the others are refused within milliseconds. It waits as long as busy_timeout,
 * which every other step of the open waits: a lock held longer is no start-up race. The pause is
 * awaited, not slept: the inbox runs in the application's process, whose event loop goes on.
 */
async function useWal(d: Database.Database, waitMs: number): Promise<void> {
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    try {
      d.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = /^SQLITE_BUSY/.test(String((error as { code?: unknown }).code));
      if (!busy || Date.now() >= giveUpAt) throw error;
    }
    await sleep(WAL_SWITCH_RETRY_MS);
  }
}

/**
 * The SQLite inbox (better-sqlite3): WAL and `synchronous = FULL`, so a committed insert survives a
 * power cut, and one write transaction per batch of the route's inserts (group commit).
 * @example createReceiver({ secret, inbox: sqliteInbox('inbox.db'), on })
 */
export function sqliteInbox(options: string | SqliteInboxOptions): Inbox {
  const config = typeof options === 'string' ? { filename: options } : options;
  const t = checkIdentifier(config.table ?? 'herald_inbox', 'sqliteInbox: table');
  const where = `SQLite inbox ${resolve(config.filename)}`;
  let db: Database.Database | undefined;
  let s: Record<string, Statement> = {};

  function q(name: string): Statement {
    opened();
    return s[name]!;
  }

  function opened(): Database.Database {
    if (db === undefined) throw new Error(`The ${where} is not open: call receiver.start() (or inbox.open()).`);
    return db;
  }

  /** Brings the tables to INBOX_SCHEMA_VERSION, in one write transaction (see schema.ts). */
  function migrate(d: Database.Database): void {
    const names = {
      events: t,
      conflicts: `${t}_conflicts`,
      keys: `${t}_keys`,
      cursors: `${t}_cursors`,
      streams: `${t}_streams`,
      prefix: t,
    };
    const current = (): number => {
      const exists = d.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(`${t}_schema`);
      if (exists === undefined) return 0;
      const row = d.prepare(`SELECT max(version) AS version FROM ${t}_schema`).get() as { version: number | null };
      return row.version ?? 0;
    };
    // Read first: an inbox that is up to date opens without a write (a read-only file included)
    // and without the write lock, which other processes' writes may keep busy past busy_timeout.
    if (current() === INBOX_SCHEMA_VERSION) return;
    d.transaction(() => {
      d.exec(`CREATE TABLE IF NOT EXISTS ${t}_schema (version INTEGER NOT NULL)`);
      const version = current();
      if (version > INBOX_SCHEMA_VERSION) throw newerSchemaError(where, version);
      for (const step of SQLITE_STEPS.slice(version)) d.exec(step(names));
      if (version < INBOX_SCHEMA_VERSION) {
        d.exec(`DELETE FROM ${t}_schema`);
        d.prepare(`INSERT INTO ${t}_schema (version) VALUES (?)`).run(INBOX_SCHEMA_VERSION);
      }
    }).immediate();
  }

  const inbox: Inbox = {
    kind: 'sqlite',
    where,
    insertFault: sqliteInsertFault,

    async open(_context?: InboxContext) {
      if (db !== undefined) return;
      const busyTimeoutMs = config.busyTimeoutMs ?? 5000;
      let d: Database.Database | undefined;
      try {
        d = new Database(config.filename);
        // First, so that processes opening one file at once wait for each other's locks instead of failing.
        d.pragma(`busy_timeout = ${busyTimeoutMs}`);
        await useWal(d, busyTimeoutMs);
        d.pragma('synchronous = FULL');
        migrate(d);
      } catch (error) {
        d?.close();
        // better-sqlite3's errors ("unable to open database file", "attempt to write a readonly
        // database") do not say which file.
        throw new Error(`The ${where} could not be opened: ${describeError(error)}`, { cause: error });
      }
      // Another call opened it while this one waited for the switch to WAL: keep that connection.
      if (db !== undefined) {
        d.close();
        return;
      }
      const p = (sql: string) => d.prepare(sql) as Statement;
      s = {
        insert: p(`INSERT INTO ${t} (id, type, order_key, endpoint_id, connection_id, sequence, occurred_at, body,
                     body_hash, source, received_at, next_attempt_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
        known: p(`SELECT body, body_hash FROM ${t} WHERE id = ?`),
        insertConflict: p(`INSERT INTO ${t}_conflicts (id, body_hash, body, source, received_at)
                           VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
        // A stream is opened by its first event; its sequence 1 settles its start at 0.
        openStreamByEvent: p(`INSERT INTO ${t}_streams (endpoint_id, contiguous, opened_at)
                              VALUES (?, CASE WHEN ? THEN 0 END, ?)
                              ON CONFLICT (endpoint_id) DO UPDATE SET contiguous = 0
                              WHERE ${t}_streams.contiguous IS NULL AND excluded.contiguous = 0`),
        openStream: p(`INSERT INTO ${t}_streams (endpoint_id, contiguous, opened_at) VALUES (?, ?, ?)
                       ON CONFLICT (endpoint_id) DO UPDATE SET contiguous = excluded.contiguous
                       WHERE ${t}_streams.contiguous IS NULL`),
        settleLowest: p(`UPDATE ${t}_streams SET contiguous = (
                           SELECT min(e.sequence) - 1 FROM ${t} e
                           WHERE e.endpoint_id = ${t}_streams.endpoint_id AND e.sequence > 0)
                         WHERE contiguous IS NULL AND opened_at <= ?`),
        settleBeginning: p(`UPDATE ${t}_streams SET contiguous = 0 WHERE contiguous IS NULL AND opened_at <= ?`),
        // Moves each stream's contiguous to the end of the run of sequences that follows it.
        advance: p(`UPDATE ${t}_streams SET contiguous = (
                      SELECT min(e.sequence) FROM ${t} e
                      WHERE e.endpoint_id = ${t}_streams.endpoint_id AND e.sequence > ${t}_streams.contiguous
                        AND NOT EXISTS (SELECT 1 FROM ${t} f
                                        WHERE f.endpoint_id = e.endpoint_id AND f.sequence = e.sequence + 1))
                    WHERE contiguous IS NOT NULL AND EXISTS (
                      SELECT 1 FROM ${t} e
                      WHERE e.endpoint_id = ${t}_streams.endpoint_id AND e.sequence = ${t}_streams.contiguous + 1)`),
        streams: p(`SELECT s.endpoint_id, s.contiguous,
                      (SELECT max(e.sequence) FROM ${t} e WHERE e.endpoint_id = s.endpoint_id) AS highest
                    FROM ${t}_streams s ORDER BY s.endpoint_id`),
        // One statement claims: pending and due, not leased; for an ordered event, no other pending
        // event of its key that is leased or comes before it (uses the _due and _key indexes), and,
        // when it has a sequence, every lower sequence of its endpoint arrived.
        claim: p(`UPDATE ${t} SET locked_by = @worker, locked_until = @until
                  WHERE id IN (
                    SELECT e.id FROM ${t} e
                    WHERE e.status = 'pending' AND e.next_attempt_at <= @now
                      AND (e.locked_until IS NULL OR e.locked_until <= @now)
                      AND (e.order_key IS NULL OR NOT EXISTS (
                        SELECT 1 FROM ${t} o
                        WHERE o.order_key = e.order_key AND o.status = 'pending' AND o.id <> e.id
                          AND (o.locked_until > @now
                               OR (o.sequence, o.occurred_at, o.id) < (e.sequence, e.occurred_at, e.id))))
                      AND (e.order_key IS NULL OR e.sequence = 0 OR e.endpoint_id = '' OR e.sequence <= (
                        SELECT s.contiguous FROM ${t}_streams s WHERE s.endpoint_id = e.endpoint_id))
                    ORDER BY e.next_attempt_at, e.received_at
                    LIMIT @limit)
                  RETURNING *`),
        extend: p(`UPDATE ${t} SET locked_until = ? WHERE id = ? AND locked_by = ? AND status = 'pending'`),
        claimants: p(`SELECT DISTINCT locked_by FROM ${t} WHERE status = 'pending' AND locked_by IS NOT NULL`),
        release: p(`UPDATE ${t} SET locked_by = NULL, locked_until = NULL
                    WHERE locked_by = ? AND status = 'pending'`),
        releaseOne: p(`UPDATE ${t} SET locked_by = NULL, locked_until = NULL
                       WHERE id = ? AND locked_by = ? AND status = 'pending'`),
        position: p(`SELECT endpoint_id, sequence, occurred_at, event_id FROM ${t}_keys WHERE order_key = ?`),
        complete: p(`UPDATE ${t} SET status = @status, processed_at = @now, attempts = attempts + @ran,
                       locked_by = NULL, locked_until = NULL, last_error = NULL
                     WHERE id = @id AND locked_by = @worker AND status = 'pending'`),
        savePosition: p(`INSERT INTO ${t}_keys (order_key, endpoint_id, sequence, occurred_at, event_id)
                         VALUES (@key, @endpointId, @sequence, @occurredAt, @eventId)
                         ON CONFLICT (order_key) DO UPDATE SET endpoint_id = excluded.endpoint_id,
                           sequence = excluded.sequence, occurred_at = excluded.occurred_at,
                           event_id = excluded.event_id`),
        fail: p(`UPDATE ${t} SET status = @status, attempts = @attempts, next_attempt_at = @next, last_error = @error,
                   locked_by = NULL, locked_until = NULL
                 WHERE id = @id AND locked_by = @worker AND status = 'pending'`),
        get: p(`SELECT * FROM ${t} WHERE id = ?`),
        replayOne: p(`UPDATE ${t} SET status = 'pending', attempts = 0, next_attempt_at = ?, locked_by = NULL,
                        locked_until = NULL, processed_at = NULL WHERE id = ? AND status <> 'pending'`),
        replayDead: p(`UPDATE ${t} SET status = 'pending', attempts = 0, next_attempt_at = ?, locked_by = NULL,
                         locked_until = NULL WHERE status = 'dead' AND received_at >= ?`),
        prune: p(`DELETE FROM ${t} WHERE status IN ('processed', 'stale') AND received_at < ?`),
        pruneConflicts: p(`DELETE FROM ${t}_conflicts WHERE received_at < ?`),
        stats: p(`SELECT
                    (SELECT count(*) FROM ${t} WHERE status = 'pending') AS pending,
                    (SELECT min(received_at) FROM ${t} WHERE status = 'pending') AS oldest,
                    (SELECT count(*) FROM ${t} WHERE status = 'dead') AS dead`),
        cursors: p(`SELECT name, value FROM ${t}_cursors`),
        saveCursor: p(`INSERT INTO ${t}_cursors (name, value) VALUES (?, ?)
                       ON CONFLICT (name) DO UPDATE SET value = excluded.value`),
      };
      db = d;
    },

    async close() {
      db?.close();
      db = undefined;
    },

    async insert(events: readonly NewInboxEvent[]): Promise<InsertOutcome[]> {
      const d = opened();
      // The streams the batch brings, once each: whether it has their sequence 1, and when.
      const streams = new Map<string, { first: boolean; at: number }>();
      return d
        .transaction(() => {
          const outcomes = events.map((e): InsertOutcome => {
            const result = q('insert').run(
              e.id,
              e.type,
              e.orderKey,
              e.endpointId,
              e.connectionId,
              e.sequence,
              e.occurredAt,
              e.body,
              e.bodyHash,
              e.source,
              e.receivedAt,
              e.receivedAt,
            );
            if (result.changes === 1) {
              if (e.sequence > 0 && e.endpointId !== '') {
                const stream = streams.get(e.endpointId);
                if (stream === undefined) streams.set(e.endpointId, { first: e.sequence === 1, at: e.receivedAt });
                else stream.first ||= e.sequence === 1;
              }
              return 'inserted';
            }
            const known = q('known').get(e.id) as { body: string; body_hash: string };
            if (known.body_hash === e.bodyHash || sameEventBody(known.body, e.body)) return 'duplicate';
            q('insertConflict').run(e.id, e.bodyHash, e.body, e.source, e.receivedAt);
            return 'conflict';
          });
          for (const [endpointId, stream] of streams) {
            q('openStreamByEvent').run(endpointId, stream.first ? 1 : 0, stream.at);
          }
          return outcomes;
        })
        .immediate();
    },

    async claim(input: ClaimInput): Promise<InboxEvent[]> {
      const d = opened();
      const rows = d
        .transaction(() => {
          if (input.settle) {
            q(input.settle.from === 'lowest' ? 'settleLowest' : 'settleBeginning').run(input.settle.before);
          }
          q('advance').run();
          return q('claim').all({
            worker: input.workerId,
            until: input.now + input.leaseMs,
            now: input.now,
            limit: input.limit,
          }) as EventRow[];
        })
        .immediate();
      return rows.map(toEvent);
    },

    async extendLease(ids, workerId, until) {
      const d = opened();
      d.transaction(() => {
        for (const id of ids) q('extend').run(until, id, workerId);
      }).immediate();
    },

    async claimants() {
      return (q('claimants').all() as { locked_by: string }[]).map((r) => r.locked_by);
    },

    async release(workerId, ids) {
      const d = opened();
      return d
        .transaction(() => {
          if (ids === undefined) return q('release').run(workerId).changes;
          let changes = 0;
          for (const id of ids) changes += q('releaseOne').run(id, workerId).changes;
          return changes;
        })
        .immediate();
    },

    async keyPosition(key) {
      const row = q('position').get(key) as KeyRow | undefined;
      return row === undefined ? null : toPosition(row);
    },

    begin(): InboxUnit {
      const d = opened();
      // Statements wait for the commit, so no transaction stays open across a handler's awaits: on
      // one connection that would sweep the route's inserts into it, and a rollback would lose them.
      const queued: { statement: Statement; params: readonly unknown[] }[] = [];
      const transaction: InboxTransaction = {
        async run(sql, params = []) {
          queued.push({ statement: d.prepare(sql) as Statement, params });
        },
        async all<Row>(sql: string, params: readonly unknown[] = []) {
          return d.prepare(sql).all(...params) as Row[];
        },
      };
      return {
        transaction,
        async commit(c: Completion) {
          return d
            .transaction(() => {
              const marked = q('complete').run({
                status: c.status,
                now: c.now,
                ran: c.status === 'processed' ? 1 : 0,
                id: c.id,
                worker: c.workerId,
              });
              if (marked.changes === 0) return false;
              for (const q of queued) {
                try {
                  q.statement.run(...q.params);
                } catch (error) {
                  throw new HandlerWriteError(describeError(error), { cause: error });
                }
              }
              if (c.position) q('savePosition').run(c.position);
              return true;
            })
            .immediate();
        },
        async rollback() {
          queued.length = 0;
        },
      };
    },

    async fail(f: Failure) {
      opened();
      q('fail').run({
        status: f.nextAttemptAt === null ? 'dead' : 'pending',
        attempts: f.attempts,
        next: f.nextAttemptAt ?? 0,
        error: f.error,
        id: f.id,
        worker: f.workerId,
      });
    },

    async get(id) {
      const row = q('get').get(id) as EventRow | undefined;
      return row === undefined ? null : toEvent(row);
    },

    async list(query: ListQuery = {}) {
      const d = opened();
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.status !== undefined) {
        where.push('status = ?');
        params.push(query.status);
      }
      if (query.since !== undefined) {
        where.push('received_at >= ?');
        params.push(query.since);
      }
      params.push(query.limit ?? 100);
      const sql = `SELECT * FROM ${t} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                   ORDER BY received_at DESC, id DESC LIMIT ?`;
      return (d.prepare(sql).all(...params) as EventRow[]).map(toEvent);
    },

    async conflicts(limit = 100) {
      const d = opened();
      const rows = d.prepare(`SELECT * FROM ${t}_conflicts ORDER BY received_at DESC LIMIT ?`).all(limit);
      return (rows as ConflictRow[]).map(toConflict);
    },

    async replay(target: ReplayTarget, now: number) {
      const d = opened();
      return d
        .transaction(() => {
          if (typeof target === 'object' && !Array.isArray(target) && 'status' in target) {
            return q('replayDead').run(now, target.since ?? 0).changes;
          }
          let changes = 0;
          for (const id of typeof target === 'string' ? [target] : (target as readonly string[])) {
            changes += q('replayOne').run(now, id).changes;
          }
          return changes;
        })
        .immediate();
    },

    async prune(before) {
      const d = opened();
      return d
        .transaction(() => {
          q('pruneConflicts').run(before);
          return q('prune').run(before).changes;
        })
        .immediate();
    },

    async stats() {
      const row = q('stats').get() as { pending: number; oldest: number | null; dead: number };
      return { pending: row.pending, oldestPendingAt: row.oldest, dead: row.dead };
    },

    async cursors() {
      const rows = q('cursors').all() as { name: string; value: string }[];
      return Object.fromEntries(rows.map((r) => [r.name, r.value]));
    },

    async saveCursors(values) {
      opened()
        .transaction(() => {
          for (const [name, value] of Object.entries(values)) q('saveCursor').run(name, value);
        })
        .immediate();
    },

    async streams() {
      const rows = q('streams').all() as StreamRow[];
      return rows.map(toStream);
    },

    async openStream(endpointId, contiguous) {
      return q('openStream').run(endpointId, contiguous, 0).changes === 1;
    },
  };
  return inbox;
}
