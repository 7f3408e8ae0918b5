import pg from 'pg';
import { sameEventBody } from '../event.js';
import { consoleLogger, describeError, type Logger } from '../log.js';
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
import { INBOX_SCHEMA_VERSION, newerSchemaError, POSTGRES_STEPS } from './schema.js';
import type {
  ClaimInput,
  Completion,
  Failure,
  Inbox,
  InboxContext,
  InboxEvent,
  InboxTransaction,
  InboxUnit,
  InsertOutcome,
  ListQuery,
  NewInboxEvent,
  ReplayTarget,
} from './types.js';

export interface PostgresInboxOptions {
  /**
   * Where the database is; ignored when `pool` is given.
   * @example 'postgres://app@127.0.0.1:5432/app'
   */
  connectionString?: string;
  /**
   * The application's own pool, to share it for processing (claims, outcomes, handlers'
   * `ctx.transaction`). The inbox then does not end it on close. The route's inserts still get a
   * small pool of their own (`routeMax`), opened with this pool's settings.
   * @default a new pool of `max` connections
   */
  pool?: pg.Pool;
  /**
   * Connections of the processing pool: the claims and outcomes, and one per handler that uses
   * `ctx.transaction` while it runs.
   * @default 20
   */
  max?: number;
  /**
   * Connections of the route's pool, which only the route's inserts use: handlers holding every
   * processing connection never make a webhook wait. Each writes one batch of the route's inserts
   * (group commit, at most 64 each) at a time, so a burst is not written one round trip after
   * another: a 64-row insert took 6–16 ms on the (loaded) reference machine.
   * @default 2
   */
  routeMax?: number;
  /**
   * The schema of the inbox's tables; created if missing.
   * @default 'public'
   */
  schema?: string;
  /**
   * The prefix of the inbox's tables.
   * @default 'herald_inbox'
   */
  table?: string;
}

/**
 * Whether a query failed because its connection is gone (PostgreSQL ended it, or the network did),
 * rather than because of the statement.
 */
function isConnectionLost(error: unknown, client: pg.PoolClient): boolean {
  const code = (error as { code?: unknown }).code;
  // 08: connection exception; 57P01–57P03: admin shutdown, crash shutdown, cannot connect now.
  if (typeof code === 'string' && (code.startsWith('08') || /^57P0[1-3]$/.test(code))) return true;
  return (client as unknown as { _queryable?: boolean })._queryable === false;
}

/**
 * The PostgreSQL inbox (pg): several receiver processes on several machines share it; each claim is
 * one `FOR UPDATE SKIP LOCKED` statement, so no event is handed to two of them.
 * @example createReceiver({ secret, inbox: postgresInbox({ connectionString: process.env.DATABASE_URL }), on })
 */
export function postgresInbox(options: PostgresInboxOptions): Inbox {
  const schema = checkIdentifier(options.schema ?? 'public', 'postgresInbox: schema');
  const name = checkIdentifier(options.table ?? 'herald_inbox', 'postgresInbox: table');
  const t = `"${schema}"."${name}"`;
  const tk = `"${schema}"."${name}_keys"`;
  const tc = `"${schema}"."${name}_conflicts"`;
  const tu = `"${schema}"."${name}_cursors"`;
  const ts = `"${schema}"."${name}_streams"`;
  const tv = `"${schema}"."${name}_schema"`;
  // Claims take this transaction-scoped lock first: see claim().
  const claimLock = `hashtext('herald_inbox_claim:${schema}.${name}')`;
  const where = `PostgreSQL inbox ${schema}.${name}`;
  let pool: pg.Pool | undefined;
  let routePool: pg.Pool | undefined;
  let logger: Logger = consoleLogger;
  /** Connections checked out now: close() ends them, so that a hung handler cannot hold it up. */
  const held = new Set<pg.PoolClient>();

  function opened(): pg.Pool {
    if (pool === undefined) throw new Error(`The ${where} is not open: call receiver.start() (or inbox.open()).`);
    return pool;
  }

  // PostgreSQL ends connections on a restart, a failover or pg_terminate_backend. pg reports it as an
  // 'error' event, on the pool for an idle connection and on the client for a checked-out one; an
  // 'error' event without a listener ends the process. The pool drops the broken connection and
  // opens a new one when needed; a query on it fails, and its caller answers 503 or tries again.
  const onConnectionError = (error: Error) =>
    logger.warn(
      { inbox: where, err: describeError(error) },
      'herald receiver: PostgreSQL closed a connection of the inbox; a new one is opened when needed',
    );

  async function checkout(p: pg.Pool): Promise<pg.PoolClient> {
    const client = await p.connect();
    client.on('error', onConnectionError);
    held.add(client);
    return client;
  }

  function giveBack(client: pg.PoolClient, error?: Error): void {
    if (!held.delete(client)) return; // already ended by close()
    client.off('error', onConnectionError);
    client.release(error);
  }

  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await checkout(opened());
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      giveBack(client);
    }
  }

  /** A pool of the inbox's own, with what it needs to ride out a lost connection. */
  function newPool(max: number, applicationName: string): pg.Pool {
    const base: pg.PoolConfig = options.connectionString
      ? { connectionString: options.connectionString }
      : { ...(options.pool?.options ?? {}) };
    const p = new pg.Pool({
      // Without a bound, a connect to an address that swallows packets waits for the OS (minutes).
      connectionTimeoutMillis: 5000,
      application_name: applicationName,
      ...base,
      max,
    });
    p.on('error', onConnectionError);
    return p;
  }

  const markSql = `UPDATE ${t} SET status = $1, processed_at = $2, attempts = attempts + $3,
                     locked_by = NULL, locked_until = NULL, last_error = NULL
                   WHERE id = $4 AND locked_by = $5 AND status = 'pending'`;
  const savePositionSql = `INSERT INTO ${tk} (order_key, endpoint_id, sequence, occurred_at, event_id)
                           VALUES ($1, $2, $3, $4, $5)
                           ON CONFLICT (order_key) DO UPDATE SET endpoint_id = excluded.endpoint_id,
                             sequence = excluded.sequence, occurred_at = excluded.occurred_at,
                             event_id = excluded.event_id`;

  const inbox: Inbox = {
    kind: 'postgres',
    where,
    insertWriters: options.routeMax ?? 2,

    async open(context: InboxContext = {}) {
      if (pool !== undefined) return;
      logger = context.logger ?? logger;
      const p = options.pool ?? newPool(options.max ?? 20, 'herald-receiver');
      if (options.pool) options.pool.on('error', onConnectionError);
      const route = newPool(options.routeMax ?? 2, 'herald-receiver-route');
      const ending = async () => {
        await route.end();
        if (options.pool) options.pool.off('error', onConnectionError);
        else await p.end();
      };
      let client: pg.PoolClient;
      try {
        client = await checkout(p);
      } catch (error) {
        await ending();
        throw error;
      }
      try {
        await client.query('BEGIN');
        // Two processes starting at once would race on CREATE ... IF NOT EXISTS.
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('herald_inbox_migrate:${schema}.${name}'))`);
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        // The tables, brought to INBOX_SCHEMA_VERSION (see schema.ts).
        await client.query(`CREATE TABLE IF NOT EXISTS ${tv} (version INTEGER NOT NULL)`);
        const row = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${tv}`);
        const version = row.rows[0]?.version ?? 0;
        if (version > INBOX_SCHEMA_VERSION) throw newerSchemaError(where, version);
        const names = { events: t, conflicts: tc, keys: tk, cursors: tu, streams: ts, prefix: name };
        for (const step of POSTGRES_STEPS.slice(version)) await client.query(step(names));
        if (version < INBOX_SCHEMA_VERSION) {
          await client.query(`DELETE FROM ${tv}`);
          await client.query(`INSERT INTO ${tv} (version) VALUES ($1)`, [INBOX_SCHEMA_VERSION]);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        giveBack(client);
        await ending();
        throw error;
      }
      giveBack(client);
      pool = p;
      routePool = route;
    },

    async close() {
      const p = pool;
      const route = routePool;
      pool = undefined;
      routePool = undefined;
      if (p === undefined || route === undefined) return;
      // A connection still held (a handler that never returned): ended, which rolls its transaction
      // back, so that ending the pool does not wait for it.
      for (const client of [...held]) giveBack(client, new Error(`The ${where} is closing.`));
      await route.end();
      if (options.pool) options.pool.off('error', onConnectionError);
      else await p.end();
    },

    async insert(events: readonly NewInboxEvent[]): Promise<InsertOutcome[]> {
      opened();
      // The route's own pool: see routeMax.
      const p = routePool!;
      if (events.length === 0) return [];
      // One statement for the whole batch (group commit): arrays unnested into rows.
      const columns = [
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.orderKey),
        events.map((e) => e.endpointId),
        events.map((e) => e.connectionId),
        events.map((e) => e.sequence),
        events.map((e) => e.occurredAt),
        events.map((e) => e.body),
        events.map((e) => e.bodyHash),
        events.map((e) => e.source),
        events.map((e) => e.receivedAt),
      ];
      // The same statement opens the streams of the endpoints it brings (sequence 1 settles a start at 0).
      const inserted = await p.query<{ id: string }>(
        `WITH ins AS (
           INSERT INTO ${t} (id, type, order_key, endpoint_id, connection_id, sequence, occurred_at, body, body_hash,
                             source, received_at, next_attempt_at)
           SELECT id, type, order_key, endpoint_id, connection_id, sequence, occurred_at, body, body_hash, source,
                  received_at, received_at
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::bigint[])
             AS u(id, type, order_key, endpoint_id, connection_id, sequence, occurred_at, body, body_hash, source,
                  received_at)
           ON CONFLICT (id) DO NOTHING
           RETURNING id, endpoint_id, sequence, received_at),
         opened AS (
           INSERT INTO ${ts} AS s (endpoint_id, contiguous, opened_at)
           SELECT endpoint_id, CASE WHEN min(sequence) = 1 THEN 0 END, min(received_at) FROM ins
           WHERE sequence > 0 AND endpoint_id <> '' GROUP BY endpoint_id
           ON CONFLICT (endpoint_id) DO UPDATE SET contiguous = 0
           WHERE s.contiguous IS NULL AND excluded.contiguous = 0)
         SELECT id FROM ins`,
        columns,
      );
      const fresh = new Set(inserted.rows.map((r) => r.id));
      const outcomes: InsertOutcome[] = [];
      const claimed = new Set<string>();
      const rest: number[] = [];
      for (const [i, e] of events.entries()) {
        // The first of several copies of one id in a batch is the one inserted.
        if (fresh.has(e.id) && !claimed.has(e.id)) {
          claimed.add(e.id);
          outcomes[i] = 'inserted';
        } else {
          rest.push(i);
        }
      }
      if (rest.length === 0) return outcomes;
      const known = await p.query<{ id: string; body: string; body_hash: string }>(
        `SELECT id, body, body_hash FROM ${t} WHERE id = ANY($1::text[])`,
        [rest.map((i) => events[i]!.id)],
      );
      const byId = new Map(known.rows.map((r) => [r.id, r]));
      const conflicts: NewInboxEvent[] = [];
      for (const i of rest) {
        const e = events[i]!;
        const k = byId.get(e.id);
        if (k === undefined || k.body_hash === e.bodyHash || sameEventBody(k.body, e.body)) {
          outcomes[i] = 'duplicate';
        } else {
          outcomes[i] = 'conflict';
          conflicts.push(e);
        }
      }
      if (conflicts.length > 0) {
        await p.query(
          `INSERT INTO ${tc} (id, body_hash, body, source, received_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
           ON CONFLICT DO NOTHING`,
          [
            conflicts.map((e) => e.id),
            conflicts.map((e) => e.bodyHash),
            conflicts.map((e) => e.body),
            conflicts.map((e) => e.source),
            conflicts.map((e) => e.receivedAt),
          ],
        );
      }
      return outcomes;
    },

    async claim(input: ClaimInput): Promise<InboxEvent[]> {
      return inTransaction(async (client) => {
        // SKIP LOCKED alone lets two workers each see a different event of one key as its head when
        // an earlier event is inserted between their snapshots; serialising the (short) claims keeps
        // one event per key in flight. Handlers still run in parallel.
        await client.query(`SELECT pg_advisory_xact_lock(${claimLock})`);
        if (input.settle) {
          await client.query(
            input.settle.from === 'lowest'
              ? `UPDATE ${ts} s SET contiguous = (
                   SELECT min(e.sequence) - 1 FROM ${t} e WHERE e.endpoint_id = s.endpoint_id AND e.sequence > 0)
                 WHERE contiguous IS NULL AND opened_at <= $1`
              : `UPDATE ${ts} SET contiguous = 0 WHERE contiguous IS NULL AND opened_at <= $1`,
            [input.settle.before],
          );
        }
        // Each stream's contiguous moves to the end of the run of sequences that follows it. Here,
        // under the claim lock, and not at insert: two inserts committing at once could each miss the
        // other's sequence.
        await client.query(
          `UPDATE ${ts} s SET contiguous = (
             SELECT min(e.sequence) FROM ${t} e
             WHERE e.endpoint_id = s.endpoint_id AND e.sequence > s.contiguous
               AND NOT EXISTS (SELECT 1 FROM ${t} f WHERE f.endpoint_id = e.endpoint_id AND f.sequence = e.sequence + 1))
           WHERE contiguous IS NOT NULL AND EXISTS (
             SELECT 1 FROM ${t} e WHERE e.endpoint_id = s.endpoint_id AND e.sequence = s.contiguous + 1)`,
        );
        const result = await client.query<EventRow>(
          `WITH picked AS (
             SELECT e.id FROM ${t} e
             WHERE e.status = 'pending' AND e.next_attempt_at <= $1
               AND (e.locked_until IS NULL OR e.locked_until <= $1)
               AND (e.order_key IS NULL OR NOT EXISTS (
                 SELECT 1 FROM ${t} o
                 WHERE o.order_key = e.order_key AND o.status = 'pending' AND o.id <> e.id
                   AND (o.locked_until > $1
                        OR (o.sequence, o.occurred_at, o.id) < (e.sequence, e.occurred_at, e.id))))
               AND (e.order_key IS NULL OR e.sequence = 0 OR e.endpoint_id = '' OR e.sequence <= (
                 SELECT s.contiguous FROM ${ts} s WHERE s.endpoint_id = e.endpoint_id))
             ORDER BY e.next_attempt_at, e.received_at
             LIMIT $2
             FOR UPDATE OF e SKIP LOCKED)
           UPDATE ${t} SET locked_by = $3, locked_until = $4
           FROM picked WHERE ${t}.id = picked.id
           RETURNING ${t}.*`,
          [input.now, input.limit, input.workerId, input.now + input.leaseMs],
        );
        return result.rows.map(toEvent);
      });
    },

    async extendLease(ids, workerId, until) {
      await opened().query(
        `UPDATE ${t} SET locked_until = $1 WHERE id = ANY($2::text[]) AND locked_by = $3 AND status = 'pending'`,
        [until, ids, workerId],
      );
    },

    async claimants() {
      const result = await opened().query<{ locked_by: string }>(
        `SELECT DISTINCT locked_by FROM ${t} WHERE status = 'pending' AND locked_by IS NOT NULL`,
      );
      return result.rows.map((r) => r.locked_by);
    },

    async release(workerId, ids) {
      const result = await opened().query(
        `UPDATE ${t} SET locked_by = NULL, locked_until = NULL
         WHERE locked_by = $1 AND status = 'pending' AND ($2::text[] IS NULL OR id = ANY($2::text[]))`,
        [workerId, ids ?? null],
      );
      return result.rowCount ?? 0;
    },

    async keyPosition(key) {
      const result = await opened().query<KeyRow>(
        `SELECT endpoint_id, sequence, occurred_at, event_id FROM ${tk} WHERE order_key = $1`,
        [key],
      );
      return result.rows[0] ? toPosition(result.rows[0]) : null;
    },

    begin(): InboxUnit {
      const p = opened();
      // The connection and its BEGIN are taken when the handler first uses ctx.transaction, so a
      // handler that does not hold no connection while it runs.
      let client: Promise<pg.PoolClient> | undefined;
      const connect = () => {
        client ??= checkout(p).then(async (c) => {
          try {
            await c.query('BEGIN');
            return c;
          } catch (error) {
            giveBack(c, error as Error);
            throw error;
          }
        });
        return client;
      };
      let lost = false;
      /** A statement of the handler's, noting whether it failed because the connection was lost. */
      const query = async (sql: string, params: readonly unknown[]) => {
        let connection: pg.PoolClient | undefined;
        try {
          connection = await connect();
          return await connection.query(sql, params as unknown[]);
        } catch (error) {
          if (connection === undefined || isConnectionLost(error, connection)) lost = true;
          throw error;
        }
      };
      const transaction: InboxTransaction = {
        async run(sql, params = []) {
          await query(sql, params);
        },
        async all<Row>(sql: string, params: readonly unknown[] = []) {
          return (await query(sql, params)).rows as Row[];
        },
      };
      return {
        transaction,
        get connectionLost() {
          return lost;
        },
        async commit(c: Completion) {
          const connection = await connect();
          try {
            const marked = await connection.query(markSql, [
              c.status,
              c.now,
              c.status === 'processed' ? 1 : 0,
              c.id,
              c.workerId,
            ]);
            if (marked.rowCount === 0) {
              await connection.query('ROLLBACK');
              return false;
            }
            if (c.position) {
              const q = c.position;
              await connection.query(savePositionSql, [q.key, q.endpointId, q.sequence, q.occurredAt, q.eventId]);
            }
            await connection.query('COMMIT');
            return true;
          } catch (error) {
            await connection.query('ROLLBACK').catch(() => {});
            throw error;
          } finally {
            giveBack(connection);
            client = undefined;
          }
        },
        async rollback() {
          if (client === undefined) return;
          const connection = await client.catch(() => undefined);
          client = undefined;
          if (connection === undefined) return;
          await connection.query('ROLLBACK').catch(() => {});
          giveBack(connection);
        },
      };
    },

    async fail(f: Failure) {
      await opened().query(
        `UPDATE ${t} SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4,
           locked_by = NULL, locked_until = NULL
         WHERE id = $5 AND locked_by = $6 AND status = 'pending'`,
        [f.nextAttemptAt === null ? 'dead' : 'pending', f.attempts, f.nextAttemptAt ?? 0, f.error, f.id, f.workerId],
      );
    },

    async get(id) {
      const result = await opened().query<EventRow>(`SELECT * FROM ${t} WHERE id = $1`, [id]);
      return result.rows[0] ? toEvent(result.rows[0]) : null;
    },

    async list(query: ListQuery = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.status !== undefined) {
        params.push(query.status);
        where.push(`status = $${params.length}`);
      }
      if (query.since !== undefined) {
        params.push(query.since);
        where.push(`received_at >= $${params.length}`);
      }
      params.push(query.limit ?? 100);
      const result = await opened().query<EventRow>(
        `SELECT * FROM ${t} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY received_at DESC, id DESC LIMIT $${params.length}`,
        params,
      );
      return result.rows.map(toEvent);
    },

    async conflicts(limit = 100) {
      const result = await opened().query<ConflictRow>(`SELECT * FROM ${tc} ORDER BY received_at DESC LIMIT $1`, [
        limit,
      ]);
      return result.rows.map(toConflict);
    },

    async replay(target: ReplayTarget, now: number) {
      if (typeof target === 'object' && !Array.isArray(target) && 'status' in target) {
        const result = await opened().query(
          `UPDATE ${t} SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_by = NULL,
             locked_until = NULL WHERE status = 'dead' AND received_at >= $2`,
          [now, target.since ?? 0],
        );
        return result.rowCount ?? 0;
      }
      const ids = typeof target === 'string' ? [target] : (target as readonly string[]);
      const result = await opened().query(
        `UPDATE ${t} SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_by = NULL,
           locked_until = NULL, processed_at = NULL WHERE id = ANY($2::text[]) AND status <> 'pending'`,
        [now, ids],
      );
      return result.rowCount ?? 0;
    },

    async prune(before) {
      return inTransaction(async (client) => {
        await client.query(`DELETE FROM ${tc} WHERE received_at < $1`, [before]);
        const result = await client.query(
          `DELETE FROM ${t} WHERE status IN ('processed', 'stale') AND received_at < $1`,
          [before],
        );
        return result.rowCount ?? 0;
      });
    },

    async stats() {
      const result = await opened().query<{ pending: string; oldest: string | null; dead: string }>(
        `SELECT (SELECT count(*) FROM ${t} WHERE status = 'pending') AS pending,
                (SELECT min(received_at) FROM ${t} WHERE status = 'pending') AS oldest,
                (SELECT count(*) FROM ${t} WHERE status = 'dead') AS dead`,
      );
      const row = result.rows[0]!;
      return {
        pending: Number(row.pending),
        oldestPendingAt: row.oldest === null ? null : Number(row.oldest),
        dead: Number(row.dead),
      };
    },

    async cursors() {
      const result = await opened().query<{ name: string; value: string }>(`SELECT name, value FROM ${tu}`);
      return Object.fromEntries(result.rows.map((r) => [r.name, r.value]));
    },

    async saveCursors(values) {
      const entries = Object.entries(values);
      if (entries.length === 0) return;
      await opened().query(
        `INSERT INTO ${tu} (name, value) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        [entries.map((e) => e[0]), entries.map((e) => e[1])],
      );
    },

    async streams() {
      const result = await opened().query<StreamRow>(
        `SELECT s.endpoint_id, s.contiguous,
           (SELECT max(e.sequence) FROM ${t} e WHERE e.endpoint_id = s.endpoint_id) AS highest
         FROM ${ts} s ORDER BY s.endpoint_id`,
      );
      return result.rows.map(toStream);
    },

    async openStream(endpointId, contiguous) {
      const result = await opened().query(
        `INSERT INTO ${ts} AS s (endpoint_id, contiguous, opened_at) VALUES ($1, $2, 0)
         ON CONFLICT (endpoint_id) DO UPDATE SET contiguous = excluded.contiguous WHERE s.contiguous IS NULL`,
        [endpointId, contiguous],
      );
      return result.rowCount === 1;
    },
  };
  return inbox;
}
