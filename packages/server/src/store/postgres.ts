import { randomUUID } from 'node:crypto';
import { newId } from '@herald/protocol';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import {
  CIRCUIT_CHUNK,
  CLOSE_CIRCUIT,
  EXPIRE_DUE,
  FAIL_PROBE,
  OPEN_CIRCUIT,
  REDATE_HELD_BACK,
  REDATE_SCHEDULED,
  RESUME_PARKED,
} from './circuit-sql.js';
import {
  CLAIM_OF_ENDPOINTS,
  CLAIM_ROUNDS,
  claimable,
  DUE_ENDPOINTS,
  PROBE_DELIVERY,
  PROBE_ENDPOINTS,
  PROBE_TAKEN,
  shareOut,
} from './claim-sql.js';
import { postgresHealth } from './postgres-health.js';
import { postgresJobsAndConnections, recordConnectionSync } from './postgres-jobs.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { kyselyQueries } from './reads.js';
import { deliveryFromRow, endpointFromRow, endpointMatches, eventFromRow } from './rows.js';
import type { Database } from './schema.js';
import { type SecretBox, secretBoxFor } from './secret-box.js';
import { tenantQueries } from './tenants.js';
import type {
  AttemptOutcome,
  ClaimedDelivery,
  ConnectionSyncReport,
  EndpointRecord,
  PublishInput,
  PublishResult,
  Store,
} from './types.js';
import { ENDPOINTS_TO_SETTLE, type EndpointToSettle, EXPIRE, PARK, RESUME, settlingOf } from './waiting-sql.js';

/**
 * The PostgreSQL store (pg): several `herald api` and `herald worker` processes on several machines
 * share one database, and the database is their only coordination.
 *
 * - Reads are the shared Kysely queries of reads.ts.
 * - publish is one transaction per group-committed batch; it takes the feed_counter row lock first,
 *   so publishers in every process commit one after another in feed order (see publishBatch).
 * - claimDueDeliveries picks the endpoints with due work, then takes each one's share with
 *   `FOR UPDATE SKIP LOCKED` under a lease (claim-sql.ts): no delivery is handed to two workers, and
 *   a worker killed holding claims loses them only until the lease ends. With a claimant, the same transaction leases the claimed deliveries' endpoints to it
 *   (endpoint_leases), so each endpoint is sent to by one worker at a time.
 * - New deliveries NOTIFY herald_deliveries inside the publish transaction; workers LISTEN
 *   (onDeliveriesDue) and keep polling as the backstop.
 */
export interface PostgresStoreOptions {
  /**
   * Connections in the pool.
   * @default 10
   */
  max?: number;
  /**
   * Tests only: awaited inside the publish transaction after its rows are written, before COMMIT,
   * to hold a transaction open and show what others see meanwhile.
   */
  beforePublishCommit?: () => Promise<void>;
  /**
   * Seals and opens endpoint secrets (store/secret-box.ts).
   * @default a box under HERALD_SECRET_KEY from the environment; without it, opening fails
   */
  secretBox?: SecretBox;
}

export interface PostgresStore extends Store {
  /** The pool, for tests that need to reach below the interface. */
  readonly pool: pg.Pool;
  /** The schema holding the tables (`?schema=` of the URL; `public` without it). */
  readonly schema: string;
  /** Calls `listener` when another process (or this one) commits new deliveries; returns the unsubscribe. */
  /** `endpointIds`: the endpoints a publish made deliveries due for; absent: wake for anything due. */
  onDeliveriesDue(listener: (endpointIds?: readonly string[]) => void): () => void;
}

type ClaimedRow = Database['deliveries'] & { due_at: number };

/** Oldest due first, as the claim chose them (RETURNING has no order). */
function sortedByDue(rows: ClaimedRow[]): ClaimedRow[] {
  return rows.sort((a, b) => a.due_at - b.due_at || a.sequence - b.sequence || (a.id < b.id ? -1 : 1));
}

/**
 * The claim's statements (claim-sql.ts) on `q`: the endpoints with due work, then their shares,
 * in up to CLAIM_ROUNDS rounds while the batch has room and some endpoint filled its share. Every
 * row claimed carries `token` in claimed_by (the fence of Store.recordAttempts).
 */
async function claimRows(
  q: pg.Pool | pg.PoolClient,
  claim: { now: number; limit: number; leaseMs: number; exclude: readonly string[]; owner: string; token: string },
): Promise<ClaimedRow[]> {
  const { now, limit, leaseMs } = claim;
  const rows: ClaimedRow[] = [];
  // Open circuits whose probe is due: one delivery each, before the shares.
  const probing = await q.query<{ id: string }>(PROBE_ENDPOINTS.postgres, [now, claim.exclude, claim.owner]);
  for (const { id } of probing.rows) {
    if (rows.length >= limit) break;
    const probe = await q.query<ClaimedRow>(PROBE_DELIVERY.postgres, [now + leaseMs, now, id, claim.token]);
    if (probe.rows.length === 0) continue;
    await q.query(PROBE_TAKEN.postgres, [now + leaseMs, id]);
    rows.push(...probe.rows);
  }
  const due = await q.query<{ id: string }>(DUE_ENDPOINTS.postgres, [
    now,
    claim.exclude,
    claim.owner,
    limit - rows.length,
  ]);
  let candidates = due.rows.map((r) => r.id);
  for (let round = 0; round < CLAIM_ROUNDS && candidates.length > 0 && rows.length < limit; round++) {
    const shares = shareOut(candidates, limit - rows.length);
    const claimed = await q.query<ClaimedRow>(CLAIM_OF_ENDPOINTS.postgres, [
      now + leaseMs,
      now,
      shares.map((s) => s.endpointId),
      shares.map((s) => s.share),
      claim.token,
    ]);
    rows.push(...claimed.rows);
    const taken = new Map<string, number>();
    for (const r of claimed.rows) taken.set(r.endpoint_id, (taken.get(r.endpoint_id) ?? 0) + 1);
    candidates = shares.filter((s) => taken.get(s.endpointId) === s.share).map((s) => s.endpointId);
  }
  return sortedByDue(rows);
}

/** The channel publish notifies; the payload is the schema, so stores in other schemas ignore it. */
const CHANNEL = 'herald_deliveries';
/** A query that runs longer than this fails (server side), so no request hangs on a stuck database. */
const STATEMENT_TIMEOUT_MS = 15_000;
/** The client gives up on an answer a little later, for a server that vanished without a word. */
const QUERY_TIMEOUT_MS = 20_000;
/** Connecting to an unreachable database fails after this, and the API answers 503. */
const CONNECT_TIMEOUT_MS = 5_000;

const INT8_OID = 20;
/** BIGINT columns hold ms times and counters, all below 2^53: parse them to numbers, not strings. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** `postgres://…?schema=name` → the connection string without `schema`, and the schema. */
export function parsePostgresUrl(url: string): { connectionString: string; schema: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`--db: schema "${schema}" must be lower-case letters, digits and _ (at most 63).`);
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const box = options.secretBox ?? secretBoxFor(url, process.env.HERALD_SECRET_KEY);
  const clientConfig: pg.ClientConfig = {
    connectionString,
    options: `-c search_path=${schema} -c synchronous_commit=on`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'herald',
    types,
  };
  await migrate({ ...clientConfig, statement_timeout: 0, query_timeout: 0 }, schema);

  const pool = new pg.Pool({ ...clientConfig, max: options.max ?? 10 });
  // An idle connection that the server closes (a restart, 57P01) is reported here; the pool drops
  // it and opens a new one on the next query. Without a listener the error would end the process.
  pool.on('error', () => {});
  // A connection that breaks while checked out (mid-query, mid-transaction) also emits 'error' on
  // its client, where pg-pool listens only while it is idle: unheard, that would end the process
  // when PostgreSQL restarts. The query itself still fails with the error, and is answered 503.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const notifications = createListener(clientConfig, schema);

  /**
   * Runs one chunked statement (circuit-sql.ts; its last parameter is the chunk size) until fewer
   * rows than a chunk come back: each chunk is its own implicit transaction, so no lock is held
   * for the whole. The rows changed in all.
   */
  async function inChunks(statement: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const changed = (await pool.query(statement, params)).rowCount ?? 0;
      total += changed;
      if (changed < CIRCUIT_CHUNK) return total;
    }
  }

  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      // A connection that failed mid-transaction is not given back to the pool.
      await client.query('ROLLBACK').then(
        () => client.release(),
        () => client.release(true),
      );
      throw error;
    }
  }

  /**
   * One batch in one transaction. The first statement locks the single feed_counter row and the
   * lock is held until COMMIT, so publish transactions from every process run one after another:
   *
   * - feed_seq is taken from that counter, so feed order is commit order: a transaction that
   *   commits late also took its numbers late, and a reader whose cursor passed feed_seq n has
   *   already seen everything at or below n. (A bigserial would hand numbers out at INSERT time,
   *   and a reader could pass a lower number whose transaction had not committed yet — and never
   *   come back for it.) PostgreSQL makes a transaction visible before it releases its locks, so the
   *   next publisher can only take numbers once the previous ones are visible.
   * - The idempotency check runs under the same lock, so two requests with one key never both publish.
   * - Endpoints are locked `FOR UPDATE` in id order, so a concurrent delete or disable waits for
   *   this commit (and then fails or skips these deliveries) and sequence stays gap-free.
   *
   * Serialising publishers costs little: each process already writes one batch at a time (group
   * commit), so a transaction carries up to hundreds of events for one fsync.
   */
  async function publishBatch(events: PublishInput[]): Promise<PublishResult[]> {
    return inTransaction((c) => publishIn(c, events));
  }

  /** publishBatch inside a transaction the caller holds (a disable or an alert publishes its event with it). */
  async function publishIn(c: pg.PoolClient, events: PublishInput[]): Promise<PublishResult[]> {
    const counter = await c.query<{ value: number }>('SELECT value FROM feed_counter WHERE id = 1 FOR UPDATE');
    let feedSeq = (counter.rows[0] as { value: number }).value;

    const keyOf = (accountId: string, key: string) => `${accountId}\u0000${key}`;
    const keyed = events.filter((e) => e.idempotency);
    const seen = new Map<string, { requestHash: string; eventId: string; deliveries: string[]; expiresAt: number }>();
    if (keyed.length > 0) {
      // Primary key lookups; an expired row counts as absent and is replaced below.
      const found = await c.query<Database['idempotency_keys']>(
        `SELECT * FROM idempotency_keys
         WHERE (account_id, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [keyed.map((e) => e.accountId), keyed.map((e) => e.idempotency?.key)],
      );
      for (const r of found.rows) {
        seen.set(keyOf(r.account_id, r.key), {
          requestHash: r.request_hash,
          eventId: r.event_id,
          deliveries: JSON.parse(r.deliveries) as string[],
          expiresAt: r.expires_at,
        });
      }
    }

    const accounts = [...new Set(events.map((e) => e.accountId))];
    const locked = await c.query<Database['endpoints']>(
      `SELECT * FROM endpoints
       WHERE account_id = ANY($1::text[]) AND deleted_at IS NULL
       ORDER BY id FOR UPDATE`,
      [accounts],
    );
    const endpointsOf = new Map<string, EndpointRecord[]>();
    const sequences = new Map<string, number>();
    for (const row of locked.rows) {
      const ep = endpointFromRow(row, box);
      const list = endpointsOf.get(ep.accountId) ?? [];
      list.push(ep);
      endpointsOf.set(ep.accountId, list);
      sequences.set(ep.id, ep.lastSequence);
    }

    const ev = { seq: [] as number[], id: [] as string[], account: [] as string[], type: [] as string[] };
    const evMore = { occurred: [] as number[], connection: [] as (string | null)[], data: [] as string[] };
    const evCreated: number[] = [];
    const evTenant: (string | null)[] = [];
    const dl = {
      id: [] as string[],
      account: [] as string[],
      event: [] as string[],
      endpoint: [] as string[],
      sequence: [] as number[],
      at: [] as number[],
      /** next_attempt_at: null for a disabled endpoint's delivery, which waits (waiting-sql.ts). */
      next: [] as (number | null)[],
      tenant: [] as (string | null)[],
    };
    const keys = {
      account: [] as string[],
      key: [] as string[],
      hash: [] as string[],
      event: [] as string[],
      deliveries: [] as string[],
      created: [] as number[],
      expires: [] as number[],
    };
    const results: PublishResult[] = [];
    /** Sync reports announced by new events: written in this transaction, in event order. */
    const syncs: ConnectionSyncReport[] = [];

    for (const event of events) {
      if (event.idempotency) {
        const prior = seen.get(keyOf(event.accountId, event.idempotency.key));
        if (prior && prior.expiresAt > event.createdAt) {
          results.push(
            prior.requestHash === event.idempotency.requestHash
              ? { id: prior.eventId, deliveries: prior.deliveries, idempotency: 'replayed' }
              : { id: prior.eventId, deliveries: [], idempotency: 'conflict' },
          );
          continue;
        }
      }
      const deliveries: string[] = [];
      const dueEndpoints: string[] = [];
      if (!event.eventless) {
        feedSeq += 1;
        ev.seq.push(feedSeq);
        ev.id.push(event.id);
        ev.account.push(event.accountId);
        ev.type.push(event.type);
        evMore.occurred.push(event.occurredAt);
        evMore.connection.push(event.connectionId);
        evMore.data.push(JSON.stringify(event.data));
        evCreated.push(event.createdAt);
        evTenant.push(event.tenantId ?? null);
        for (const ep of endpointsOf.get(event.accountId) ?? []) {
          if (!endpointMatches(ep, event)) continue;
          const sequence = (sequences.get(ep.id) ?? 0) + 1;
          sequences.set(ep.id, sequence);
          const id = newId('delivery', event.createdAt);
          dl.id.push(id);
          dl.account.push(event.accountId);
          dl.event.push(event.id);
          dl.endpoint.push(ep.id);
          dl.sequence.push(sequence);
          dl.at.push(event.createdAt);
          // An open circuit's deliveries are due as usual: the claim skips the endpoint by its row (circuit-sql.ts).
          dl.next.push(ep.disabled ? null : event.createdAt);
          dl.tenant.push(event.tenantId ?? null);
          deliveries.push(id);
          if (claimable(ep)) dueEndpoints.push(ep.id);
        }
      }
      results.push({ id: event.id, deliveries, dueEndpoints });
      if (event.connectionSync) syncs.push(event.connectionSync);
      if (event.idempotency) {
        const { key, requestHash, expiresAt } = event.idempotency;
        seen.set(keyOf(event.accountId, key), { requestHash, eventId: event.id, deliveries, expiresAt });
        keys.account.push(event.accountId);
        keys.key.push(key);
        keys.hash.push(requestHash);
        keys.event.push(event.id);
        keys.deliveries.push(JSON.stringify(deliveries));
        keys.created.push(event.createdAt);
        keys.expires.push(expiresAt);
      }
    }

    if (ev.id.length > 0) {
      await c.query(
        `INSERT INTO events (feed_seq, id, account_id, type, occurred_at, connection_id, data, created_at, tenant_id)
         SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[], $8::int8[],
           $9::text[])`,
        [ev.seq, ev.id, ev.account, ev.type, evMore.occurred, evMore.connection, evMore.data, evCreated, evTenant],
      );
      await c.query('UPDATE feed_counter SET value = $1 WHERE id = 1', [feedSeq]);
    }
    if (dl.id.length > 0) {
      await c.query(
        `INSERT INTO deliveries (id, account_id, event_id, endpoint_id, status, sequence, attempt_count,
           next_attempt_at, created_at, updated_at, tenant_id)
         SELECT id, account_id, event_id, endpoint_id, 'pending', sequence, 0, next, at, at, tenant_id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::text[])
           AS d(id, account_id, event_id, endpoint_id, sequence, at, next, tenant_id)`,
        [dl.id, dl.account, dl.event, dl.endpoint, dl.sequence, dl.at, dl.next, dl.tenant],
      );
      const moved = [...sequences].filter(([id, seq]) => seq !== lastSequenceOf(endpointsOf, id));
      await c.query(
        `UPDATE endpoints AS e SET last_sequence = u.sequence
         FROM unnest($1::text[], $2::int8[]) AS u(id, sequence) WHERE e.id = u.id`,
        [moved.map(([id]) => id), moved.map(([, seq]) => seq)],
      );
      const due = [...new Set(results.flatMap((r) => r.dueEndpoints ?? []))];
      if (due.length > 0) await c.query('SELECT pg_notify($1, $2)', [CHANNEL, notificationOf(schema, due)]);
    }
    if (keys.key.length > 0) {
      await c.query(
        `INSERT INTO idempotency_keys (account_id, key, request_hash, event_id, deliveries, created_at, expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[])
         ON CONFLICT (account_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
           event_id = EXCLUDED.event_id, deliveries = EXCLUDED.deliveries,
           created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
        [keys.account, keys.key, keys.hash, keys.event, keys.deliveries, keys.created, keys.expires],
      );
    }
    for (const report of syncs) await recordConnectionSync(c, report);
    await options.beforePublishCommit?.();
    return results;
  }

  /** Deletes the claimant's leases on endpoints it has no work of, in id order (claimers lock in that order too). */
  async function letGoOfEndpoints(claimantId: string, endpointIds: readonly string[]): Promise<void> {
    if (endpointIds.length === 0) return;
    await pool.query(
      `DELETE FROM endpoint_leases WHERE endpoint_id IN (
         SELECT endpoint_id FROM endpoint_leases WHERE owner = $1 AND endpoint_id = ANY($2::text[])
         ORDER BY endpoint_id FOR UPDATE)`,
      [claimantId, endpointIds],
    );
  }

  async function withEndpointsAndEvents(rows: Database['deliveries'][]): Promise<ClaimedDelivery[]> {
    if (rows.length === 0) return [];
    const [endpointRows, eventRows] = await Promise.all([
      pool.query<Database['endpoints']>('SELECT * FROM endpoints WHERE id = ANY($1::text[])', [
        [...new Set(rows.map((r) => r.endpoint_id))],
      ]),
      pool.query<Database['events']>('SELECT * FROM events WHERE id = ANY($1::text[])', [
        [...new Set(rows.map((r) => r.event_id))],
      ]),
    ]);
    const endpoints = new Map(endpointRows.rows.map((r) => [r.id, endpointFromRow(r, box)]));
    const events = new Map(eventRows.rows.map((r) => [r.id, eventFromRow(r)]));
    return rows.map((r) => ({
      delivery: deliveryFromRow(r),
      claim: r.claimed_by,
      endpoint: endpoints.get(r.endpoint_id) as EndpointRecord,
      event: events.get(r.event_id) as ClaimedDelivery['event'],
    }));
  }

  return {
    kind: 'postgres',
    pool,
    schema,
    ...kyselyQueries(db, box),
    ...postgresHealth(pool, box, { inTransaction, publishIn }),
    ...postgresJobsAndConnections(pool, inTransaction),
    ...tenantQueries(db),

    async deleteTenant(accountId, id, at) {
      return inTransaction(async (c) => {
        const gone = await c.query('DELETE FROM tenants WHERE account_id = $1 AND id = $2', [accountId, id]);
        if (gone.rowCount === 0) return false;
        await c.query('DELETE FROM portal_sessions WHERE account_id = $1 AND tenant_id = $2', [accountId, id]);
        // As deleteEndpoint, for each of the tenant's endpoints (endpoints_tenant, then
        // deliveries_endpoint_sequence).
        await c.query(
          `WITH gone AS (
             UPDATE endpoints SET deleted_at = $1
             WHERE account_id = $2 AND tenant_id = $3 AND deleted_at IS NULL RETURNING id)
           UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = $1
           WHERE endpoint_id IN (SELECT id FROM gone) AND status = 'pending'`,
          [at, accountId, id],
        );
        return true;
      });
    },

    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      notifications.close();
      await db.destroy();
    },

    async deleteEndpoint(accountId, id, at) {
      return inTransaction(async (c) => {
        const result = await c.query(
          'UPDATE endpoints SET deleted_at = $1 WHERE account_id = $2 AND id = $3 AND deleted_at IS NULL',
          [at, accountId, id],
        );
        if (result.rowCount === 0) return false;
        // Uses deliveries_endpoint_sequence (endpoint_id, …).
        await c.query(
          `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = $1,
             failure_reason = 'Its endpoint was deleted.'
           WHERE endpoint_id = $2 AND status = 'pending'`,
          [at, id],
        );
        return true;
      });
    },

    async publish(events) {
      if (events.length === 0) return [];
      return publishBatch(events);
    },

    async claimDueDeliveries({ now, limit, leaseMs, excludeEndpointIds = [], claimant }) {
      const claim = {
        now,
        limit,
        leaseMs,
        exclude: excludeEndpointIds,
        owner: claimant?.id ?? '',
        token: randomUUID(),
      };
      if (!claimant) return withEndpointsAndEvents(await claimRows(pool, claim));
      await letGoOfEndpoints(claimant.id, claimant.releaseEndpointIds);
      const rows = await inTransaction(async (c) => {
        const claimed = { rows: await claimRows(c, claim) };
        if (claimed.rows.length === 0) return [];
        // Lease (or renew) the endpoints of what was claimed, in id order so that two claimers lock
        // the rows in the same order. An endpoint another claimant leased since the SELECT above
        // read endpoint_leases is not returned: its deliveries go back, due as they were.
        const endpointIds = [...new Set(claimed.rows.map((r) => r.endpoint_id))].sort();
        const leased = await c.query<{ endpoint_id: string }>(
          `INSERT INTO endpoint_leases (endpoint_id, owner, lease_until)
           SELECT id, $2, $3 FROM unnest($1::text[]) AS id ORDER BY id
           ON CONFLICT (endpoint_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
           WHERE endpoint_leases.owner = excluded.owner OR endpoint_leases.lease_until <= $4
           RETURNING endpoint_id`,
          [endpointIds, claimant.id, now + leaseMs, now],
        );
        const ours = new Set(leased.rows.map((r) => r.endpoint_id));
        const lost = claimed.rows.filter((r) => !ours.has(r.endpoint_id));
        if (lost.length > 0) {
          await c.query(
            `UPDATE deliveries AS d SET next_attempt_at = u.due_at, claimed_by = NULL
             FROM unnest($1::text[], $2::bigint[]) AS u(id, due_at) WHERE d.id = u.id`,
            [lost.map((r) => r.id), lost.map((r) => r.due_at)],
          );
        }
        return claimed.rows.filter((r) => ours.has(r.endpoint_id));
      });
      return withEndpointsAndEvents(sortedByDue(rows));
    },
    async claimDelivery(accountId, id) {
      const result = await pool.query<Database['deliveries']>(
        `SELECT d.* FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
         WHERE d.account_id = $1 AND d.id = $2 AND e.deleted_at IS NULL`,
        [accountId, id],
      );
      const row = result.rows[0];
      const claimed = row && (await withEndpointsAndEvents([row]))[0];
      return claimed && { ...claimed, claim: null };
    },
    async recordAttempts(outcomes, at) {
      if (outcomes.length === 0) return;
      await recordAttempts(pool, outcomes, at);
    },
    async releaseClaims(claims, at) {
      if (claims.length === 0) return;
      await pool.query(
        `UPDATE deliveries AS d SET next_attempt_at = $1, claimed_by = NULL, updated_at = $1
         FROM unnest($2::text[], $3::text[]) AS c(id, claim)
         WHERE d.id = c.id AND d.status = 'pending' AND d.claimed_by IS NOT DISTINCT FROM c.claim`,
        [at, claims.map((c) => c.deliveryId), claims.map((c) => c.claim)],
      );
    },

    async settleWaitingDeliveries({ at, windowStart, reasons, endpointIds }) {
      const endpoints = await pool.query<EndpointToSettle>(ENDPOINTS_TO_SETTLE.postgres, [endpointIds ?? null]);
      const total = { waiting: 0, failed: 0, resumed: 0 };
      // One endpoint per transaction: a sweep over many endpoints holds no lock for long.
      for (const endpoint of endpoints.rows) {
        const { mode, expiredReason } = settlingOf(endpoint, reasons);
        await inTransaction(async (c) => {
          if (mode === 'wait') total.waiting += (await c.query(PARK.postgres, [at, endpoint.id])).rowCount ?? 0;
          if (mode === 'circuit') {
            total.waiting += (await c.query(REDATE_SCHEDULED.postgres, [at, endpoint.id])).rowCount ?? 0;
          }
          total.failed += (await c.query(EXPIRE.postgres, [expiredReason, at, endpoint.id, windowStart])).rowCount ?? 0;
          if (mode === 'resume') total.resumed += (await c.query(RESUME.postgres, [at, endpoint.id])).rowCount ?? 0;
        });
        // An open circuit's backlog is due in creation order: those past their window, in chunks.
        if (mode === 'circuit') {
          total.failed += await inChunks(EXPIRE_DUE.postgres, [
            expiredReason,
            at,
            endpoint.id,
            windowStart,
            CIRCUIT_CHUNK,
          ]);
        }
      }
      return total;
    },
    async openCircuit(endpointId, { at, probeAt, heldBack = [] }) {
      // The endpoint row, the held-back claims and the retries scheduled ahead: bounded, whatever the backlog.
      return inTransaction(async (c) => {
        const opened = await c.query(OPEN_CIRCUIT.postgres, [at, probeAt, endpointId]);
        if (opened.rowCount === 0) return false;
        if (heldBack.length > 0) {
          await c.query(REDATE_HELD_BACK.postgres, [
            at,
            heldBack.map((h) => h.deliveryId),
            heldBack.map((h) => h.claim),
          ]);
        }
        await c.query(REDATE_SCHEDULED.postgres, [at, endpointId]);
        return true;
      });
    },
    async closeCircuit(endpointId, at) {
      const closed = await pool.query(CLOSE_CIRCUIT.postgres, [endpointId]);
      if (closed.rowCount === 0) return false;
      // Nothing of a backlog written by this version is moved (circuit-sql.ts); an older one's parked rows are.
      await inChunks(RESUME_PARKED.postgres, [at, endpointId, CIRCUIT_CHUNK]);
      return true;
    },
    async failCircuitProbe(endpointId, probeAt) {
      await pool.query(FAIL_PROBE.postgres, [probeAt, endpointId]);
    },

    async releaseEndpointLeases(claimantId) {
      await pool.query('DELETE FROM endpoint_leases WHERE owner = $1', [claimantId]);
    },

    onDeliveriesDue(listener) {
      return notifications.subscribe(listener);
    },
    async createFirstApiKey(key) {
      return inTransaction(async (c) => {
        // Taken by every process starting on this database, held until COMMIT.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`herald:${schema}:first-key`]);
        const active = await c.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL",
        );
        if ((active.rows[0]?.n ?? 0) > 0) return false;
        const reinstated = await c.query("UPDATE api_keys SET role = 'admin', revoked_at = NULL WHERE hash = $1", [
          key.hash,
        ]);
        if ((reinstated.rowCount ?? 0) > 0) return true;
        const accounts = await c.query<{ id: string }>('SELECT id FROM accounts LIMIT 2');
        let accountId = key.accountId;
        if (accounts.rows.length === 1) accountId = (accounts.rows[0] as { id: string }).id;
        else await c.query('INSERT INTO accounts (id, created_at) VALUES ($1, $2)', [accountId, key.createdAt]);
        await c.query(
          `INSERT INTO api_keys (id, account_id, role, prefix, hash, created_at, revoked_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [key.id, accountId, key.role, key.prefix, key.hash, key.createdAt, key.revokedAt],
        );
        return true;
      });
    },
    async revokeApiKey(accountId, id, at) {
      return inTransaction(async (c) => {
        // The account's row lock orders its revocations: the second one counts after the first commits.
        const account = await c.query('SELECT id FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
        if (account.rowCount === 0) return 'not_found';
        const revoked = await c.query<{ role: string }>(
          `UPDATE api_keys SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL
           RETURNING role`,
          [at, accountId, id],
        );
        const role = revoked.rows[0]?.role;
        if (role === undefined) return 'not_found';
        if (role === 'admin') {
          const left = await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1 AND role = 'admin' AND revoked_at IS NULL",
            [accountId],
          );
          // Thrown so that inTransaction rolls the revocation back.
          if ((left.rows[0]?.n ?? 0) === 0) throw LAST_ADMIN;
        }
        return 'revoked';
      }).catch((error: unknown) => {
        if (error === LAST_ADMIN) return 'last_admin' as const;
        throw error;
      });
    },
  } satisfies PostgresStore;
}

/** Thrown inside a transaction to roll back the revocation of an account's last admin key. */
const LAST_ADMIN = new Error('the last admin key of the account');

function lastSequenceOf(endpointsOf: Map<string, EndpointRecord[]>, id: string): number | undefined {
  for (const list of endpointsOf.values()) {
    const ep = list.find((e) => e.id === id);
    if (ep) return ep.lastSequence;
  }
  return undefined;
}

/**
 * Attempts and the deliveries' new states in one statement (so one transaction), fenced as
 * Store.recordAttempts says. One statement updates a row once, so a delivery with several outcomes
 * in one batch (a manual attempt beside an automatic one) is folded here first: it counts them all;
 * a manual success makes it succeeded whatever the automatic outcome (which its fence would refuse
 * after that success, and which a success leaves nothing to decide after); else its last automatic
 * outcome writes, if its claim still holds the delivery.
 */
async function recordAttempts(pool: pg.Pool, outcomes: AttemptOutcome[], at: number): Promise<void> {
  interface Folded {
    count: number;
    manualSuccess: boolean;
    auto: { status: string; next: number | null; claim: string | null } | null;
  }
  const perDelivery = new Map<string, Folded>();
  for (const o of outcomes) {
    const folded = perDelivery.get(o.attempt.deliveryId) ?? { count: 0, manualSuccess: false, auto: null };
    folded.count += 1;
    if (!o.attempt.manual) folded.auto = { status: o.status, next: o.nextAttemptAt, claim: o.claim };
    else if (o.status === 'succeeded') folded.manualSuccess = true;
    perDelivery.set(o.attempt.deliveryId, folded);
  }
  const folded = [...perDelivery.values()];
  const a = outcomes.map((o) => o.attempt);
  await pool.query(
    `WITH inserted AS (
       INSERT INTO attempts (id, delivery_id, attempt_no, started_at, duration_ms, request_headers,
         response_status, response_headers, response_body, error, manual)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int8[], $5::int[], $6::text[],
         $7::int[], $8::text[], $9::text[], $10::text[], $11::int[])
     ),
     -- Endpoint health (Store.recordAttempts), outcome by outcome in batch order: after the batch's
     -- last success an endpoint is failing since its first failure after it, if any; without a
     -- success, since the earlier of what it had and its first failure. Only rows that change are
     -- written, so a healthy endpoint's row is not locked here.
     attempt_ok AS (
       SELECT d.endpoint_id, o.started_at, o.error IS NULL AS ok, o.pos,
              max(o.pos) FILTER (WHERE o.error IS NULL) OVER (PARTITION BY d.endpoint_id) AS last_ok
       FROM unnest($2::text[], $4::int8[], $10::text[]) WITH ORDINALITY AS o(delivery_id, started_at, error, pos)
       JOIN deliveries d ON d.id = o.delivery_id
     ),
     health AS (
       SELECT endpoint_id, bool_or(ok) AS any_ok,
              min(started_at) FILTER (WHERE NOT ok AND pos > coalesce(last_ok, 0)) AS fail_after
       FROM attempt_ok GROUP BY endpoint_id
     ),
     health_written AS (
       UPDATE endpoints AS e
       SET failing_since = CASE WHEN h.fail_after IS NULL THEN NULL
                                WHEN h.any_ok THEN h.fail_after
                                ELSE coalesce(e.failing_since, h.fail_after) END
       FROM health h
       WHERE e.id = h.endpoint_id
         AND e.failing_since IS DISTINCT FROM (CASE WHEN h.fail_after IS NULL THEN NULL
                                                    WHEN h.any_ok THEN h.fail_after
                                                    ELSE coalesce(e.failing_since, h.fail_after) END)
     )
     -- The fence: under a concurrent delete or claim, PostgreSQL re-reads the row and evaluates these
     -- CASEs on what was committed, so the state written is decided on the row as it is now.
     UPDATE deliveries AS d
     SET status = CASE WHEN o.manual_ok THEN 'succeeded' WHEN o.auto AND d.status = 'pending'
                         AND d.claimed_by IS NOT DISTINCT FROM o.claim THEN o.status ELSE d.status END,
         next_attempt_at = CASE WHEN o.manual_ok THEN NULL WHEN o.auto AND d.status = 'pending'
                         AND d.claimed_by IS NOT DISTINCT FROM o.claim THEN o.next ELSE d.next_attempt_at END,
         claimed_by = CASE WHEN o.manual_ok OR (o.auto AND d.status = 'pending'
                         AND d.claimed_by IS NOT DISTINCT FROM o.claim) THEN NULL ELSE d.claimed_by END,
         attempt_count = d.attempt_count + o.n, updated_at = $12
     FROM unnest($13::text[], $14::text[], $15::int8[], $16::int[], $17::bool[], $18::bool[], $19::text[])
       AS o(id, status, next, n, auto, manual_ok, claim)
     WHERE d.id = o.id`,
    [
      a.map((x) => x.id),
      a.map((x) => x.deliveryId),
      a.map((x) => x.attemptNo),
      a.map((x) => x.startedAt),
      a.map((x) => Math.round(x.durationMs)),
      a.map((x) => JSON.stringify(x.requestHeaders)),
      a.map((x) => x.responseStatus),
      a.map((x) => (x.responseHeaders === null ? null : JSON.stringify(x.responseHeaders))),
      // PostgreSQL text cannot hold NUL; a binary response body must not make the whole batch fail.
      a.map((x) => (x.responseBody === null ? null : x.responseBody.replaceAll('\u0000', '\uFFFD'))),
      a.map((x) => x.error),
      a.map((x) => (x.manual ? 1 : 0)),
      at,
      [...perDelivery.keys()],
      folded.map((v) => v.auto?.status ?? null),
      folded.map((v) => v.auto?.next ?? null),
      folded.map((v) => v.count),
      folded.map((v) => v.auto !== null),
      folded.map((v) => v.manualSuccess),
      folded.map((v) => v.auto?.claim ?? null),
    ],
  );
}

/**
 * Migrations at start, on a connection of their own, under a session advisory lock keyed by the
 * schema: when two processes start at once, the second waits and then finds nothing left to do.
 */
async function migrate(config: pg.ClientConfig, schema: string): Promise<void> {
  const client = new pg.Client({ ...config, options: `-c search_path=${schema}` });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`herald_migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS herald_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const applied = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM herald_migrations');
    for (let i = applied.rows[0]?.n ?? 0; i < POSTGRES_MIGRATIONS.length; i++) {
      await client.query('BEGIN');
      try {
        await client.query(POSTGRES_MIGRATIONS[i] as string);
        await client.query('INSERT INTO herald_migrations VALUES ($1, $2)', [i + 1, Date.now()]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`herald_migrate:${schema}`]);
  } finally {
    await client.end();
  }
}

/**
 * The payload of a publish's notification: the schema, then the endpoints it made deliveries due for
 * (a dispatcher whose claim would leave all of them out need not claim, claim-loop.ts). Over
 * PostgreSQL's 8,000-byte limit, the schema alone: every dispatcher claims.
 */
const NOTIFY_IDS_MAX_BYTES = 7_000;
export function notificationOf(schema: string, endpointIds: readonly string[]): string {
  const payload = `${schema}\n${endpointIds.join(',')}`;
  return Buffer.byteLength(payload) <= NOTIFY_IDS_MAX_BYTES ? payload : schema;
}

/** The endpoint ids of a notification for `schema`; undefined: wake for anything; null: another schema's. */
export function endpointsOfNotification(schema: string, payload: string): readonly string[] | undefined | null {
  if (payload === schema) return undefined;
  if (!payload.startsWith(`${schema}\n`)) return null;
  return payload.slice(schema.length + 1).split(',');
}

/**
 * LISTEN herald_deliveries on a connection of its own, opened on the first subscription. When it
 * breaks (a restart), it reconnects every second and wakes the listeners once it is back, since
 * notifications sent meanwhile were lost; polling covers the gap either way.
 */
function createListener(config: pg.ClientConfig, schema: string) {
  const listeners = new Set<(endpointIds?: readonly string[]) => void>();
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const wake = (endpointIds?: readonly string[]) => {
    for (const l of listeners) l(endpointIds);
  };

  async function connect(): Promise<void> {
    if (closed || client || listeners.size === 0) return;
    const c = new pg.Client({ ...config, query_timeout: 0, statement_timeout: 0 });
    client = c;
    const reconnect = () => {
      if (client !== c) return;
      client = undefined;
      void c.end().catch(() => {});
      if (!closed && listeners.size > 0) {
        retry = setTimeout(() => void connect(), 1000);
        retry.unref();
      }
    };
    c.on('error', reconnect);
    c.on('end', reconnect);
    c.on('notification', (n) => {
      const endpointIds = n.channel === CHANNEL ? endpointsOfNotification(schema, n.payload ?? '') : null;
      if (endpointIds !== null) wake(endpointIds);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      wake(); // what was published while it was away: anything may be due
    } catch {
      reconnect();
    }
  }

  return {
    subscribe(listener: (endpointIds?: readonly string[]) => void): () => void {
      listeners.add(listener);
      void connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && client) {
          const c = client;
          client = undefined;
          void c.end().catch(() => {});
        }
      };
    },
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      listeners.clear();
      const c = client;
      client = undefined;
      void c?.end().catch(() => {});
    },
  };
}
