import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { newId } from '@herald/protocol';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
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
  CLAIM_ROUNDS,
  claimable,
  DUE_ENDPOINTS,
  DUE_OF_ENDPOINT,
  FIRST_DUE_PER_ENDPOINT,
  LEASE_DELIVERIES,
  PROBE_DELIVERY,
  PROBE_ENDPOINTS,
  PROBE_TAKEN,
  shareOut,
} from './claim-sql.js';
import { kyselyQueries } from './reads.js';
import {
  alertFromRow,
  alertHistoryRow,
  claimedEventFromRow,
  connectionFromRow,
  deliveryFromRow,
  endpointFromRow,
  endpointMatches,
  jobFromRow,
} from './rows.js';
import type { Database } from './schema.js';
import { type SecretBox, secretBoxFor } from './secret-box.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { tenantQueries } from './tenants.js';
import type {
  ApiKeyRecord,
  AttemptOutcome,
  ClaimedDelivery,
  ConnectionRecord,
  ConnectionSyncReport,
  DeliveryRecord,
  EndpointRecord,
  HeldBackClaim,
  JobRecord,
  OpenJobItem,
  PublishInput,
  PublishResult,
  Store,
} from './types.js';
import { ENDPOINTS_TO_SETTLE, type EndpointToSettle, EXPIRE, PARK, RESUME, settlingOf } from './waiting-sql.js';

/**
 * The default store: one SQLite file (WAL, synchronous=FULL, so a commit is on disk before it is
 * acknowledged).
 *
 * Reads go through Kysely. Writes that span several statements (publish, claim, recording
 * attempts) run as better-sqlite3's synchronous transactions on prepared statements: nothing can
 * interleave with them, and they cost a few µs a row instead of the ~40 µs a row that building
 * each statement through Kysely cost in the publish benchmark.
 */
export interface SqliteStore extends Store {
  /** The raw handle, for tests that need to reach below the interface. */
  readonly database: BetterSqlite3.Database;
}

export interface SqliteStoreOptions {
  /**
   * Seals and opens endpoint secrets (store/secret-box.ts).
   * @default the key file `<file>.key` beside the database, created with mode 0600 on first start
   */
  secretBox?: SecretBox;
}

export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const box = options.secretBox ?? secretBoxFor(file, undefined);
  const endpointOf = (row: Database['endpoints']) => endpointFromRow(row, box);
  const sqlite = new BetterSqlite3(file);
  // First, so that processes opening one file at once wait for each other's locks instead of failing.
  sqlite.pragma('busy_timeout = 5000');
  useWal(sqlite);
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // 4 MB of page cache per connection, not better-sqlite3's 16 MB: the operating system caches the
  // file as well. Measured (drain of 200,000 deliveries, in-process `herald serve`): peak RSS 214
  // against 229 MB, the same drain time; README, "Performance", for the backlog's read routes.
  sqlite.pragma('cache_size = -4000');
  migrate(sqlite);
  // A wrong key fails here, at start, with a message naming the key, not at the first delivery.
  const sealed = sqlite.prepare("SELECT * FROM endpoints WHERE secret LIKE 'enc:v1:%' LIMIT 1").get() as
    | Database['endpoints']
    | undefined;
  if (sealed) {
    try {
      endpointOf(sealed);
    } catch (error) {
      sqlite.close();
      throw error;
    }
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });

  const statements = {
    // Disabled endpoints too: their deliveries are written waiting, so every stream stays gap-free.
    liveEndpoints: sqlite.prepare('SELECT * FROM endpoints WHERE account_id = ? AND deleted_at IS NULL ORDER BY id'),
    insertEvent: sqlite.prepare(
      `INSERT INTO events (id, account_id, type, occurred_at, connection_id, data, created_at, tenant_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertDelivery: sqlite.prepare(
      `INSERT INTO deliveries (id, account_id, event_id, endpoint_id, status, sequence, attempt_count,
         next_attempt_at, created_at, updated_at, tenant_id)
       VALUES (?, ?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?)`,
    ),
    setLastSequence: sqlite.prepare('UPDATE endpoints SET last_sequence = ? WHERE id = ?'),
    // Primary key lookup; an expired row counts as absent and is replaced.
    findIdempotency: sqlite.prepare(
      'SELECT request_hash, event_id, deliveries FROM idempotency_keys WHERE account_id = ? AND key = ? AND expires_at > ?',
    ),
    saveIdempotency: sqlite.prepare(
      `INSERT OR REPLACE INTO idempotency_keys (account_id, key, request_hash, event_id, deliveries, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // The claim, a share per endpoint with due work (claim-sql.ts names the index of each).
    dueEndpoints: sqlite.prepare(DUE_ENDPOINTS.sqlite),
    dueOfEndpoint: sqlite.prepare(DUE_OF_ENDPOINT.sqlite),
    leaseDeliveries: sqlite.prepare(LEASE_DELIVERIES.sqlite),
    probeEndpoints: sqlite.prepare(PROBE_ENDPOINTS.sqlite),
    probeDelivery: sqlite.prepare(PROBE_DELIVERY.sqlite),
    probeTaken: sqlite.prepare(PROBE_TAKEN.sqlite),
    // Endpoint leases (Store.claimDueDeliveries' claimant): take or renew, unless another holds it.
    leaseEndpoint: sqlite.prepare(
      `INSERT INTO endpoint_leases (endpoint_id, owner, lease_until) VALUES (@endpointId, @owner, @leaseUntil)
       ON CONFLICT (endpoint_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
       WHERE endpoint_leases.owner = excluded.owner OR endpoint_leases.lease_until <= @now`,
    ),
    letGoOfEndpoints: sqlite.prepare(
      'DELETE FROM endpoint_leases WHERE owner = ? AND endpoint_id IN (SELECT value FROM json_each(?))',
    ),
    letGoOfAllEndpoints: sqlite.prepare('DELETE FROM endpoint_leases WHERE owner = ?'),
    endpointsByIds: sqlite.prepare('SELECT * FROM endpoints WHERE id IN (SELECT value FROM json_each(?))'),
    eventsByIds: sqlite.prepare('SELECT * FROM events WHERE id IN (SELECT value FROM json_each(?))'),
    insertAttempt: sqlite.prepare(
      `INSERT INTO attempts (id, delivery_id, attempt_no, started_at, duration_ms, request_headers,
         response_status, response_headers, response_body, error, manual)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Every attempt is counted; the state is written only as Store.recordAttempts allows.
    countAttempt: sqlite.prepare(
      'UPDATE deliveries SET attempt_count = attempt_count + 1, updated_at = ? WHERE id = ?',
    ),
    // Fenced on the state and the claim it expects: a late outcome cannot undo a delete, a success or a newer claim.
    updateDelivery: sqlite.prepare(
      `UPDATE deliveries SET status = @status, next_attempt_at = @next, claimed_by = NULL, updated_at = @at
       WHERE id = @id AND status = 'pending' AND claimed_by IS @claim`,
    ),
    // A manual success: succeeded is the one state a manual attempt may set (a failure sets none).
    manualSuccess: sqlite.prepare(
      `UPDATE deliveries SET status = 'succeeded', next_attempt_at = NULL, claimed_by = NULL, updated_at = ?
       WHERE id = ? AND status <> 'succeeded'`,
    ),
    // Endpoint health (see Store.recordAttempts): one write per endpoint per batch, not per attempt.
    endpointsOfDeliveries: sqlite.prepare(
      'SELECT id, endpoint_id FROM deliveries WHERE id IN (SELECT value FROM json_each(?))',
    ),
    markFailing: sqlite.prepare('UPDATE endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL'),
    setFailing: sqlite.prepare('UPDATE endpoints SET failing_since = ? WHERE id = ?'),
    clearFailing: sqlite.prepare(
      'UPDATE endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL',
    ),
    release: sqlite.prepare(
      `UPDATE deliveries SET next_attempt_at = @at, claimed_by = NULL, updated_at = @at
       WHERE id = @id AND status = 'pending' AND claimed_by IS @claim`,
    ),
  };

  const circuitStatements = {
    open: sqlite.prepare(OPEN_CIRCUIT.sqlite),
    close: sqlite.prepare(CLOSE_CIRCUIT.sqlite),
    failProbe: sqlite.prepare(FAIL_PROBE.sqlite),
    redateScheduled: sqlite.prepare(REDATE_SCHEDULED.sqlite),
    redateHeldBack: sqlite.prepare(REDATE_HELD_BACK.sqlite),
    expireDue: sqlite.prepare(EXPIRE_DUE.sqlite),
    resumeParked: sqlite.prepare(RESUME_PARKED.sqlite),
  };
  /** The endpoint row, the held-back claims and the retries scheduled ahead: bounded, whatever the backlog. */
  const openCircuitTx = sqlite.transaction(
    (endpointId: string, at: number, probeAt: number, heldBack: readonly HeldBackClaim[]): boolean => {
      if (circuitStatements.open.run(at, probeAt, endpointId).changes === 0) return false;
      for (const h of heldBack) circuitStatements.redateHeldBack.run(at, h.deliveryId, h.claim);
      circuitStatements.redateScheduled.run(at, endpointId, at);
      return true;
    },
  );
  /**
   * One chunk per transaction, and a turn of the event loop between chunks: the writer (and this
   * thread) is free between them for everyone else's claims and publishes.
   */
  const inChunks = async (run: () => number): Promise<number> => {
    let total = 0;
    for (;;) {
      const changed = sqlite.transaction(run).immediate();
      total += changed;
      if (changed < CIRCUIT_CHUNK) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const waitingStatements = {
    endpoints: sqlite.prepare(ENDPOINTS_TO_SETTLE.sqlite),
    park: sqlite.prepare(PARK.sqlite),
    expire: sqlite.prepare(EXPIRE.sqlite),
    resume: sqlite.prepare(RESUME.sqlite),
  };

  /** One endpoint per transaction: a sweep over many endpoints never holds the write lock for long. */
  const settleTx = sqlite.transaction(
    (
      endpoint: EndpointToSettle,
      {
        at,
        windowStart,
        reasons,
      }: { at: number; windowStart: number; reasons: { disabled: string; circuitOpen: string } },
    ) => {
      const { mode, expiredReason } = settlingOf(endpoint, reasons);
      const waiting =
        mode === 'wait'
          ? waitingStatements.park.run(at, endpoint.id).changes
          : mode === 'circuit'
            ? circuitStatements.redateScheduled.run(at, endpoint.id, at).changes
            : 0;
      const failed = waitingStatements.expire.run(expiredReason, at, endpoint.id, windowStart).changes;
      const resumed = mode === 'resume' ? waitingStatements.resume.run(at, at, endpoint.id).changes : 0;
      return { waiting, failed, resumed, expiredReason, mode };
    },
  );

  const jobStatements = {
    insertJob: sqlite.prepare(
      `INSERT INTO jobs (id, account_id, kind, state, params, total, created_at, finished_at, tenant_id)
       VALUES (@id, @accountId, 'bulk_retry', @state, @params, @total, @createdAt, @finishedAt, @tenantId)`,
    ),
    // Uses deliveries_account_status (account_id, status, id): only the account's failed rows are read.
    insertBulkRetryItems: sqlite.prepare(
      `INSERT INTO job_items (job_id, delivery_id)
       SELECT @jobId, d.id FROM deliveries d
       WHERE d.account_id = @accountId AND d.status = 'failed'
         AND (@endpointId IS NULL OR d.endpoint_id = @endpointId)
         AND (@tenantId IS NULL OR d.tenant_id = @tenantId)
         AND (@since IS NULL OR d.created_at >= @since)
         AND (@until IS NULL OR d.created_at < @until)
         AND d.endpoint_id IN (SELECT id FROM endpoints WHERE deleted_at IS NULL)`,
    ),
    // Primary key prefix (job_id).
    counts: sqlite.prepare(
      `SELECT total(outcome = 'succeeded') AS succeeded, total(outcome = 'failed') AS failed
       FROM job_items WHERE job_id = ?`,
    ),
    getJob: sqlite.prepare('SELECT * FROM jobs WHERE account_id = ? AND id = ?'),
    // Uses jobs_running.
    claimJob: sqlite.prepare(
      `UPDATE jobs SET lease_owner = @owner, lease_until = @leaseUntil
       WHERE id = (SELECT id FROM jobs WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= @now)
                   ORDER BY created_at, id LIMIT 1)
       RETURNING *`,
    ),
    renewLease: sqlite.prepare(
      `UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`,
    ),
    releaseLease: sqlite.prepare(
      'UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
    ),
    // Primary key range (job_id, delivery_id > cursor).
    openItems: sqlite.prepare(
      `SELECT i.delivery_id, i.started_at, d.status AS delivery_status,
              (e.id IS NULL OR e.deleted_at IS NOT NULL) AS endpoint_deleted
       FROM job_items i
       JOIN deliveries d ON d.id = i.delivery_id
       LEFT JOIN endpoints e ON e.id = d.endpoint_id
       WHERE i.job_id = ? AND i.outcome IS NULL AND i.delivery_id > ?
       ORDER BY i.delivery_id LIMIT ?`,
    ),
    markStarted: sqlite.prepare(
      `UPDATE job_items SET started_at = ?
       WHERE job_id = ? AND delivery_id IN (SELECT value FROM json_each(?)) AND started_at IS NULL`,
    ),
    setOutcome: sqlite.prepare(
      `UPDATE job_items SET outcome = ?, finished_at = ?
       WHERE job_id = ? AND delivery_id = ? AND outcome IS NULL`,
    ),
    // The NOT EXISTS uses job_items_open.
    completeIfDone: sqlite.prepare(
      `UPDATE jobs SET state = 'completed', finished_at = @at, lease_owner = NULL, lease_until = NULL
       WHERE id = @id AND state = 'running'
         AND NOT EXISTS (SELECT 1 FROM job_items WHERE job_id = @id AND outcome IS NULL)`,
    ),
  };

  const connectionStatements = {
    // One statement for every status; see Store.recordConnectionSync for the rules.
    upsert: sqlite.prepare(
      `INSERT INTO connections (account_id, id, status, last_successful_sync_at, last_error,
         next_scheduled_sync_at, sync_started_at, created_at, updated_at)
       VALUES (@accountId, @id, @status,
         CASE WHEN @status = 'completed' THEN @at END,
         CASE WHEN @status = 'failed' THEN @error END,
         @next,
         CASE WHEN @status = 'started' THEN @at END,
         @at, @at)
       ON CONFLICT (account_id, id) DO UPDATE SET
         status = excluded.status,
         last_successful_sync_at = CASE WHEN excluded.status = 'completed' THEN excluded.updated_at
                                        ELSE connections.last_successful_sync_at END,
         last_error = CASE excluded.status WHEN 'completed' THEN NULL
                                           WHEN 'failed' THEN excluded.last_error
                                           ELSE connections.last_error END,
         next_scheduled_sync_at = CASE WHEN @setNext = 1 THEN excluded.next_scheduled_sync_at
                                       ELSE connections.next_scheduled_sync_at END,
         sync_started_at = CASE WHEN excluded.status = 'started' THEN excluded.updated_at
                                ELSE connections.sync_started_at END,
         updated_at = excluded.updated_at
       RETURNING *`,
    ),
    // A connection takes the tenant of the first report that names one, and keeps it.
    setTenant: sqlite.prepare(
      'UPDATE connections SET tenant_id = ? WHERE account_id = ? AND id = ? AND tenant_id IS NULL RETURNING *',
    ),
  };

  const healthStatements = {
    // The conditional update: its change count decides which process publishes endpoint.disabled.
    disable: sqlite.prepare(
      `UPDATE endpoints SET disabled = 1, disabled_reason = @reason, updated_at = @at
       WHERE account_id = @accountId AND id = @id AND disabled = 0 AND deleted_at IS NULL
         AND (@failingSince IS NULL OR failing_since <= @failingSince)
       RETURNING *`,
    ),
    // Uses endpoints_failing.
    failing: sqlite.prepare(
      `SELECT * FROM endpoints
       WHERE failing_since IS NOT NULL AND disabled = 0 AND failing_since <= ? AND deleted_at IS NULL
       ORDER BY failing_since`,
    ),
    // Counts over deliveries_endpoint_due (pending rows only; a covering scan of its rows).
    pending: sqlite.prepare(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`),
    // Per enabled endpoint, the first entry of its range on deliveries_endpoint_due (claim-sql.ts).
    oldestDue: sqlite.prepare(`SELECT min(due_at) AS at FROM (${FIRST_DUE_PER_ENDPOINT.sqlite})`),
    // The last entry of attempts_started.
    lastAttempt: sqlite.prepare('SELECT max(started_at) AS at FROM attempts'),
    // The same probe per enabled endpoint: a healthy store reads one index entry per endpoint at most.
    overdue: sqlite.prepare(
      `SELECT account_id, min(due_at) AS oldest FROM (${FIRST_DUE_PER_ENDPOINT.sqlite})
       WHERE due_at IS NOT NULL GROUP BY account_id`,
    ),
    // A range on attempts_started (the window), each joined to its delivery by primary key.
    attemptCounts: sqlite.prepare(
      `SELECT d.account_id, d.endpoint_id, count(*) AS attempts, total(a.error IS NOT NULL) AS failures
       FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE a.started_at >= ?
       GROUP BY d.account_id, d.endpoint_id`,
    ),
    openAlerts: sqlite.prepare('SELECT * FROM alerts ORDER BY opened_at, account_id, key'),
    openAlert: sqlite.prepare(
      `INSERT INTO alerts (account_id, key, kind, endpoint_id, value, threshold, opened_at)
       VALUES (@accountId, @key, @kind, @endpointId, @value, @threshold, @openedAt)
       ON CONFLICT (account_id, key) DO NOTHING`,
    ),
    closeAlert: sqlite.prepare('DELETE FROM alerts WHERE account_id = ? AND key = ?'),
    // The history of alerts (GET /v1/alerts), written with the alerts row it follows.
    openAlertHistory: sqlite.prepare(
      `INSERT INTO alert_history (id, account_id, key, kind, endpoint_id, value, threshold, message, details, opened_at)
       VALUES (@id, @account_id, @key, @kind, @endpoint_id, @value, @threshold, @message, @details, @opened_at)`,
    ),
    resolveAlertHistory: sqlite.prepare(
      'UPDATE alert_history SET resolved_at = ? WHERE account_id = ? AND key = ? AND resolved_at IS NULL',
    ),
    // events_payload_kept and attempts_body_kept hold exactly the rows still to purge.
    purgeEvents: sqlite.prepare(
      `UPDATE events SET data = 'null'
       WHERE feed_seq IN (SELECT feed_seq FROM events WHERE data <> 'null' AND created_at < ? LIMIT ?)`,
    ),
    purgeIdempotencyKeys: sqlite.prepare(PURGE_IDEMPOTENCY_SQL),
    // The history is small (an alert opens at most once per check per endpoint): a scan of it.
    purgeResolvedAlerts: sqlite.prepare(
      `DELETE FROM alert_history
       WHERE id IN (SELECT id FROM alert_history WHERE resolved_at IS NOT NULL AND resolved_at < ? LIMIT ?)`,
    ),
    purgeAttempts: sqlite.prepare(
      `UPDATE attempts SET response_body = NULL
       WHERE id IN (SELECT id FROM attempts WHERE response_body IS NOT NULL AND started_at < ? LIMIT ?)`,
    ),
  };

  function applySync(report: ConnectionSyncReport): ConnectionRecord {
    let row = connectionStatements.upsert.get({
      accountId: report.accountId,
      id: report.connectionId,
      status: report.status,
      error: report.error,
      next: report.nextScheduledAt ?? null,
      setNext: report.nextScheduledAt === undefined ? 0 : 1,
      at: report.at,
    }) as Database['connections'];
    if (report.tenantId && row.tenant_id === null) {
      row = connectionStatements.setTenant.get(
        report.tenantId,
        report.accountId,
        report.connectionId,
      ) as Database['connections'];
    }
    return connectionFromRow(row);
  }

  function jobWithCounts(row: Database['jobs']): JobRecord {
    const counts = jobStatements.counts.get(row.id) as { succeeded: number; failed: number };
    return jobFromRow(row, counts);
  }

  const createJobTx = sqlite.transaction((job: Parameters<Store['createBulkRetryJob']>[0]): JobRecord => {
    const { changes: total } = jobStatements.insertBulkRetryItems.run({
      jobId: job.id,
      accountId: job.accountId,
      endpointId: job.filter.endpointId ?? null,
      tenantId: job.filter.tenantId ?? null,
      since: job.filter.since ?? null,
      until: job.filter.until ?? null,
    });
    jobStatements.insertJob.run({
      id: job.id,
      accountId: job.accountId,
      state: total === 0 ? 'completed' : 'running',
      params: JSON.stringify(job.params),
      total,
      createdAt: job.createdAt,
      finishedAt: total === 0 ? job.createdAt : null,
      tenantId: job.filter.tenantId ?? null,
    });
    return jobWithCounts(jobStatements.getJob.get(job.accountId, job.id) as Database['jobs']);
  });

  const takeItemsTx = sqlite.transaction((jobId: string, after: string, limit: number, now: number): OpenJobItem[] => {
    const rows = jobStatements.openItems.all(jobId, after, limit) as Array<{
      delivery_id: string;
      started_at: number | null;
      delivery_status: string;
      endpoint_deleted: number;
    }>;
    if (rows.length > 0) jobStatements.markStarted.run(now, jobId, JSON.stringify(rows.map((r) => r.delivery_id)));
    return rows.map((r) => ({
      deliveryId: r.delivery_id,
      startedAt: r.started_at === null ? null : Number(r.started_at),
      deliveryStatus: r.delivery_status as DeliveryRecord['status'],
      endpointDeleted: Boolean(r.endpoint_deleted),
    }));
  });

  const recordOutcomesTx = sqlite.transaction((results: Parameters<Store['recordJobItemOutcomes']>[0], at: number) => {
    for (const r of results) jobStatements.setOutcome.run(r.outcome, at, r.jobId, r.deliveryId);
    for (const id of new Set(results.map((r) => r.jobId))) jobStatements.completeIfDone.run({ id, at });
  });

  /** A conditional write and, when it took effect, its event: one transaction (publishTx nests as a savepoint). */
  const withEventTx = sqlite.transaction((write: () => unknown, event: PublishInput | undefined): unknown => {
    const result = write();
    if (result && event) publishTx([event]);
    return result;
  });
  const withEvent = <T>(write: () => T, event: PublishInput | undefined): T => withEventTx.immediate(write, event) as T;

  const publishTx = sqlite.transaction((events: PublishInput[]): PublishResult[] => {
    const endpointsOf = new Map<string, EndpointRecord[]>();
    const sequences = new Map<string, number>();
    /** Writes one event and its deliveries, one per matching endpoint, into `deliveries`. */
    function publishOne(event: PublishInput, deliveries: string[], dueEndpoints: string[]): void {
      let endpoints = endpointsOf.get(event.accountId);
      if (!endpoints) {
        endpoints = (statements.liveEndpoints.all(event.accountId) as Database['endpoints'][]).map(endpointOf);
        endpointsOf.set(event.accountId, endpoints);
        for (const ep of endpoints) sequences.set(ep.id, ep.lastSequence);
      }
      statements.insertEvent.run(
        event.id,
        event.accountId,
        event.type,
        event.occurredAt,
        event.connectionId,
        JSON.stringify(event.data),
        event.createdAt,
        event.tenantId ?? null,
      );
      for (const ep of endpoints) {
        if (!endpointMatches(ep, event)) continue;
        const sequence = (sequences.get(ep.id) ?? 0) + 1;
        sequences.set(ep.id, sequence);
        const id = newId('delivery', event.createdAt);
        statements.insertDelivery.run(
          id,
          event.accountId,
          event.id,
          ep.id,
          sequence,
          // An open circuit's deliveries are due as usual: the claim skips the endpoint by its row (circuit-sql.ts).
          ep.disabled ? null : event.createdAt,
          event.createdAt,
          event.createdAt,
          event.tenantId ?? null,
        );
        deliveries.push(id);
        if (claimable(ep)) dueEndpoints.push(ep.id);
      }
    }

    const results: PublishResult[] = [];
    for (const event of events) {
      if (event.idempotency) {
        const seen = statements.findIdempotency.get(event.accountId, event.idempotency.key, event.createdAt) as
          | { request_hash: string; event_id: string; deliveries: string }
          | undefined;
        if (seen) {
          results.push(
            seen.request_hash === event.idempotency.requestHash
              ? { id: seen.event_id, deliveries: JSON.parse(seen.deliveries) as string[], idempotency: 'replayed' }
              : { id: seen.event_id, deliveries: [], idempotency: 'conflict' },
          );
          continue;
        }
      }
      const deliveries: string[] = [];
      const dueEndpoints: string[] = [];
      if (!event.eventless) publishOne(event, deliveries, dueEndpoints);
      if (event.connectionSync) applySync(event.connectionSync);
      results.push({ id: event.id, deliveries, dueEndpoints });
      if (event.idempotency) {
        statements.saveIdempotency.run(
          event.accountId,
          event.idempotency.key,
          event.idempotency.requestHash,
          event.id,
          JSON.stringify(deliveries),
          event.createdAt,
          event.idempotency.expiresAt,
        );
      }
    }
    for (const endpoints of endpointsOf.values()) {
      for (const ep of endpoints) {
        const sequence = sequences.get(ep.id) ?? 0;
        if (sequence !== ep.lastSequence) statements.setLastSequence.run(sequence, ep.id);
      }
    }
    return results;
  });

  function withEndpointsAndEvents(rows: Database['deliveries'][]): ClaimedDelivery[] {
    if (rows.length === 0) return [];
    const endpointIds = JSON.stringify([...new Set(rows.map((r) => r.endpoint_id))]);
    const eventIds = JSON.stringify([...new Set(rows.map((r) => r.event_id))]);
    const endpoints = new Map(
      (statements.endpointsByIds.all(endpointIds) as Database['endpoints'][]).map((r) => [r.id, endpointOf(r)]),
    );
    const events = new Map(
      (statements.eventsByIds.all(eventIds) as Database['events'][]).map((r) => [r.id, claimedEventFromRow(r)]),
    );
    return rows.map((r) => ({
      delivery: deliveryFromRow(r),
      claim: r.claimed_by,
      endpoint: endpoints.get(r.endpoint_id) as EndpointRecord,
      event: events.get(r.event_id) as ClaimedDelivery['event'],
    }));
  }

  const keyStatements = {
    activeAdmins: sqlite.prepare(
      "SELECT count(*) AS n FROM api_keys WHERE account_id = ? AND role = 'admin' AND revoked_at IS NULL",
    ),
    revoke: sqlite.prepare(
      'UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND id = ? AND revoked_at IS NULL RETURNING role',
    ),
  };

  // BEGIN IMMEDIATE: the check and the write hold the write lock together, across processes too.
  const revokeTx = sqlite.transaction((accountId: string, id: string, at: number) => {
    const revoked = keyStatements.revoke.get(at, accountId, id) as { role: string } | undefined;
    if (!revoked) return 'not_found' as const;
    if (revoked.role === 'admin' && (keyStatements.activeAdmins.get(accountId) as { n: number }).n === 0) {
      throw LAST_ADMIN; // rolls the revocation back
    }
    return 'revoked' as const;
  });

  const firstKeyTx = sqlite.transaction((key: ApiKeyRecord): boolean => {
    const active = sqlite
      .prepare("SELECT count(*) AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL")
      .get() as { n: number };
    if (active.n > 0) return false;
    const reinstated = sqlite
      .prepare("UPDATE api_keys SET role = 'admin', revoked_at = NULL WHERE hash = ?")
      .run(key.hash).changes;
    if (reinstated > 0) return true;
    const accounts = sqlite.prepare('SELECT id FROM accounts LIMIT 2').all() as Array<{ id: string }>;
    let accountId = key.accountId;
    if (accounts.length === 1) accountId = (accounts[0] as { id: string }).id;
    else sqlite.prepare('INSERT INTO accounts (id, created_at) VALUES (?, ?)').run(accountId, key.createdAt);
    sqlite
      .prepare(
        `INSERT INTO api_keys (id, account_id, role, prefix, hash, created_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(key.id, accountId, key.role, key.prefix, key.hash, key.createdAt, key.revokedAt);
    return true;
  });

  /**
   * The claim's statements (claim-sql.ts), inside claimTx: the endpoints with due work, then their
   * shares, in up to CLAIM_ROUNDS rounds while the batch has room and some endpoint filled its share.
   * Oldest due first (within an endpoint, ties in insertion order).
   */
  function claimRows(
    now: number,
    limit: number,
    leaseMs: number,
    exclude: readonly string[],
    owner: string,
    claim: string,
  ) {
    let candidates = (
      statements.dueEndpoints.all({ now, exclude: JSON.stringify(exclude), owner, limit }) as Array<{ id: string }>
    ).map((r) => r.id);
    const claimed: Array<{ row: Database['deliveries']; dueAt: number }> = [];
    // Open circuits whose probe is due: one delivery each, before the shares.
    const probing = statements.probeEndpoints.all(now, JSON.stringify(exclude), owner, now) as Array<{ id: string }>;
    for (const { id: endpointId } of probing) {
      if (claimed.length >= limit) break;
      const probe = statements.probeDelivery.get(endpointId, endpointId, now) as { id: string | null };
      if (probe.id === null) continue;
      const [row] = statements.leaseDeliveries.all(now + leaseMs, claim, now, JSON.stringify([probe.id])) as Array<
        Database['deliveries']
      >;
      if (!row) continue;
      statements.probeTaken.run(now + leaseMs, endpointId);
      claimed.push({ row, dueAt: now });
    }
    for (let round = 0; round < CLAIM_ROUNDS && candidates.length > 0 && claimed.length < limit; round++) {
      const full: string[] = [];
      // Every endpoint's share first, then one lease for all of them: one statement per endpoint
      // with due work, not two.
      const due: Array<{ id: string; next_attempt_at: number }> = [];
      for (const { endpointId, share } of shareOut(candidates, limit - claimed.length)) {
        const ofEndpoint = statements.dueOfEndpoint.all(endpointId, now, share) as typeof due;
        due.push(...ofEndpoint);
        if (ofEndpoint.length === share) full.push(endpointId);
      }
      if (due.length > 0) {
        const rows = new Map(
          (
            statements.leaseDeliveries.all(now + leaseMs, claim, now, JSON.stringify(due.map((d) => d.id))) as Array<
              Database['deliveries']
            >
          ).map((r) => [r.id, r]),
        );
        for (const d of due) {
          const row = rows.get(d.id);
          if (row) claimed.push({ row, dueAt: d.next_attempt_at });
        }
      }
      candidates = full;
    }
    // Stable: ties keep each endpoint's index order.
    return claimed.sort((a, b) => a.dueAt - b.dueAt).map((c) => c.row);
  }

  const claimTx = sqlite.transaction(
    (
      now: number,
      limit: number,
      leaseMs: number,
      exclude: readonly string[],
      claimant: { id: string; releaseEndpointIds: readonly string[] } | undefined,
    ): ClaimedDelivery[] => {
      if (claimant && claimant.releaseEndpointIds.length > 0) {
        statements.letGoOfEndpoints.run(claimant.id, JSON.stringify(claimant.releaseEndpointIds));
      }
      const rows = claimRows(now, limit, leaseMs, exclude, claimant?.id ?? '', randomUUID());
      if (claimant) {
        // One writer at a time: no other claimant can lease these endpoints between the claim and here.
        for (const endpointId of new Set(rows.map((r) => r.endpoint_id))) {
          statements.leaseEndpoint.run({ endpointId, owner: claimant.id, leaseUntil: now + leaseMs, now });
        }
      }
      return withEndpointsAndEvents(rows);
    },
  );

  const recordTx = sqlite.transaction((outcomes: AttemptOutcome[], at: number) => {
    for (const { attempt: a, status, nextAttemptAt, claim } of outcomes) {
      statements.insertAttempt.run(
        a.id,
        a.deliveryId,
        a.attemptNo,
        a.startedAt,
        a.durationMs,
        JSON.stringify(a.requestHeaders),
        a.responseStatus,
        a.responseHeaders === null ? null : JSON.stringify(a.responseHeaders),
        a.responseBody,
        a.error,
        a.manual ? 1 : 0,
      );
      statements.countAttempt.run(at, a.deliveryId);
      if (!a.manual) {
        statements.updateDelivery.run({ status, next: nextAttemptAt, at, id: a.deliveryId, claim });
      } else if (status === 'succeeded') statements.manualSuccess.run(at, a.deliveryId);
    }
    // Outcome by outcome in batch order: after an endpoint's last success in the batch it is failing
    // since its first failure after that success, if any; with no success, since its first failure
    // unless it was failing already.
    const endpointOf = new Map(
      (
        statements.endpointsOfDeliveries.all(JSON.stringify(outcomes.map((o) => o.attempt.deliveryId))) as Array<{
          id: string;
          endpoint_id: string;
        }>
      ).map((r) => [r.id, r.endpoint_id]),
    );
    const health = new Map<string, { succeeded: boolean; failingSince: number | null }>();
    for (const { attempt: a } of outcomes) {
      const endpointId = endpointOf.get(a.deliveryId);
      if (endpointId === undefined) continue;
      const state = health.get(endpointId) ?? { succeeded: false, failingSince: null };
      if (a.error === null) {
        state.succeeded = true;
        state.failingSince = null;
      } else state.failingSince ??= a.startedAt;
      health.set(endpointId, state);
    }
    for (const [endpointId, { succeeded, failingSince }] of health) {
      if (!succeeded) statements.markFailing.run(failingSince, endpointId);
      else if (failingSince !== null) statements.setFailing.run(failingSince, endpointId);
      else statements.clearFailing.run(endpointId);
    }
  });

  const releaseTx = sqlite.transaction((claims: Parameters<Store['releaseClaims']>[0], at: number) => {
    for (const { deliveryId, claim } of claims) statements.release.run({ at, id: deliveryId, claim });
  });

  return {
    kind: 'sqlite',
    database: sqlite,

    async ping() {
      sqlite.prepare('SELECT 1').get();
    },
    async close() {
      await db.destroy();
      if (sqlite.open) sqlite.close();
    },

    // Plain queries, written once for both dialects (reads.ts, tenants.ts).
    ...kyselyQueries(db, box),
    ...tenantQueries(db),

    async deleteTenant(accountId, id, at) {
      return sqlite
        .transaction(() => {
          const gone = sqlite.prepare('DELETE FROM tenants WHERE account_id = ? AND id = ?').run(accountId, id);
          if (gone.changes === 0) return false;
          sqlite.prepare('DELETE FROM portal_sessions WHERE account_id = ? AND tenant_id = ?').run(accountId, id);
          // As deleteEndpoint, for each of the tenant's endpoints (endpoints_tenant).
          const endpoints = sqlite
            .prepare(
              `UPDATE endpoints SET deleted_at = ?
               WHERE account_id = ? AND tenant_id = ? AND deleted_at IS NULL RETURNING id`,
            )
            .all(at, accountId, id) as Array<{ id: string }>;
          const fail = sqlite.prepare(
            `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = ?
             WHERE endpoint_id = ? AND status = 'pending'`,
          );
          for (const ep of endpoints) fail.run(at, ep.id);
          return true;
        })
        .immediate();
    },

    async deleteEndpoint(accountId, id, at) {
      return sqlite
        .transaction(() => {
          const result = sqlite
            .prepare('UPDATE endpoints SET deleted_at = ? WHERE account_id = ? AND id = ? AND deleted_at IS NULL')
            .run(at, accountId, id);
          if (result.changes === 0) return false;
          sqlite
            .prepare(
              `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = ?,
               failure_reason = 'Its endpoint was deleted.'
             WHERE endpoint_id = ? AND status = 'pending'`,
            )
            .run(at, id);
          return true;
        })
        .immediate();
    },

    async publish(events) {
      if (events.length === 0) return [];
      return publishTx.immediate(events);
    },
    async claimDueDeliveries({ now, limit, leaseMs, excludeEndpointIds = [], claimant }) {
      // A claim need not reach the disk before the sends: lost in a power cut, it leaves its
      // deliveries due, and they are sent again (at least once, as after a crash). So its commit
      // skips the fsync; the next synced commit (an attempt record, a publish) carries it to disk,
      // since the WAL is written in order. A process crash loses nothing either way.
      // Inside a transaction another caller opened (the SQLite thread shares one between the writes
      // queued on it, sqlite-worker.ts), SQLite refuses to change the setting ("Safety level may not
      // be changed inside a transaction"): the claim commits with that transaction, synced.
      if (sqlite.inTransaction) return claimTx.immediate(now, limit, leaseMs, excludeEndpointIds, claimant);
      sqlite.pragma('synchronous = NORMAL');
      try {
        return claimTx.immediate(now, limit, leaseMs, excludeEndpointIds, claimant);
      } finally {
        sqlite.pragma('synchronous = FULL');
      }
    },
    async claimDelivery(accountId, id) {
      const row = sqlite
        .prepare(
          `SELECT d.* FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
           WHERE d.account_id = ? AND d.id = ? AND e.deleted_at IS NULL`,
        )
        .get(accountId, id) as Database['deliveries'] | undefined;
      const claimed = row && withEndpointsAndEvents([row])[0];
      return claimed && { ...claimed, claim: null };
    },
    async recordAttempts(outcomes, at) {
      if (outcomes.length > 0) recordTx.immediate(outcomes, at);
    },
    async releaseClaims(claims, at) {
      if (claims.length > 0) releaseTx.immediate(claims, at);
    },
    async createFirstApiKey(key) {
      // BEGIN IMMEDIATE: processes starting at once on one file take turns (busy_timeout waits).
      return firstKeyTx.immediate(key);
    },
    async revokeApiKey(accountId, id, at) {
      try {
        return revokeTx.immediate(accountId, id, at);
      } catch (error) {
        if (error === LAST_ADMIN) return 'last_admin';
        throw error;
      }
    },
    async releaseEndpointLeases(claimantId) {
      statements.letGoOfAllEndpoints.run(claimantId);
    },

    async disableEndpoint(accountId, id, { reason, at, failingSinceAtOrBefore, event }) {
      const row = withEvent(
        () =>
          healthStatements.disable.get({
            accountId,
            id,
            reason,
            at,
            failingSince: failingSinceAtOrBefore ?? null,
          }) as Database['endpoints'] | undefined,
        event,
      );
      return row && endpointOf(row);
    },
    async openCircuit(endpointId, { at, probeAt, heldBack = [] }) {
      return openCircuitTx.immediate(endpointId, at, probeAt, heldBack);
    },
    async closeCircuit(endpointId, at) {
      if (circuitStatements.close.run(endpointId).changes === 0) return false;
      // Nothing of a backlog written by this version is moved (circuit-sql.ts); an older one's parked rows are.
      await inChunks(() => circuitStatements.resumeParked.run(at, endpointId, CIRCUIT_CHUNK).changes);
      return true;
    },
    async failCircuitProbe(endpointId, probeAt) {
      circuitStatements.failProbe.run(probeAt, endpointId);
    },
    async settleWaitingDeliveries({ at, windowStart, reasons, endpointIds }) {
      const ids = endpointIds ? JSON.stringify(endpointIds) : null;
      const endpoints = waitingStatements.endpoints.all(ids, ids) as EndpointToSettle[];
      const total = { waiting: 0, failed: 0, resumed: 0 };
      for (const endpoint of endpoints) {
        const done = settleTx.immediate(endpoint, { at, windowStart, reasons });
        total.waiting += done.waiting;
        total.failed += done.failed;
        total.resumed += done.resumed;
        if (done.mode !== 'circuit') continue;
        // An open circuit's backlog is due in creation order: those past their window, in chunks.
        total.failed += await inChunks(
          () =>
            circuitStatements.expireDue.run(
              done.expiredReason,
              at,
              endpoint.id,
              windowStart,
              windowStart,
              CIRCUIT_CHUNK,
            ).changes,
        );
      }
      return total;
    },
    async listFailingEndpoints(failingSince) {
      return (healthStatements.failing.all(failingSince) as Database['endpoints'][]).map(endpointOf);
    },
    async countPendingDeliveries() {
      return Number((healthStatements.pending.get() as { n: number }).n);
    },
    async deliveryHealth(now) {
      const oldest = healthStatements.oldestDue.get(now) as { at: number | null } | undefined;
      const last = healthStatements.lastAttempt.get() as { at: number | null };
      return {
        oldestDueAt: oldest?.at == null ? null : Number(oldest.at),
        lastAttemptAt: last.at === null ? null : Number(last.at),
      };
    },
    async overdueByAccount(dueAtOrBefore) {
      const rows = healthStatements.overdue.all(dueAtOrBefore) as Array<{ account_id: string; oldest: number }>;
      return rows.map((r) => ({ accountId: r.account_id, oldestDueAt: Number(r.oldest) }));
    },
    async endpointAttemptCounts(since) {
      const rows = healthStatements.attemptCounts.all(since) as Array<{
        account_id: string;
        endpoint_id: string;
        attempts: number;
        failures: number;
      }>;
      return rows.map((r) => ({
        accountId: r.account_id,
        endpointId: r.endpoint_id,
        attempts: Number(r.attempts),
        failures: Number(r.failures),
      }));
    },
    async listOpenAlerts() {
      return (healthStatements.openAlerts.all() as Database['alerts'][]).map(alertFromRow);
    },
    async openAlert(alert, event) {
      return withEvent(() => {
        const opened = healthStatements.openAlert.run(alert).changes > 0;
        if (opened) healthStatements.openAlertHistory.run(alertHistoryRow(alert));
        return opened;
      }, event);
    },
    async closeAlert(accountId, key, event) {
      return withEvent(() => {
        const closed = healthStatements.closeAlert.run(accountId, key).changes > 0;
        if (closed) healthStatements.resolveAlertHistory.run(event?.createdAt ?? Date.now(), accountId, key);
        return closed;
      }, event);
    },
    async purgeBefore(before, limit) {
      return sqlite
        .transaction(() => ({
          events: healthStatements.purgeEvents.run(before, limit).changes,
          attempts: healthStatements.purgeAttempts.run(before, limit).changes,
        }))
        .immediate();
    },

    async purgeExpiredIdempotencyKeys(now, limit) {
      return healthStatements.purgeIdempotencyKeys.run(now, limit).changes;
    },
    async purgeResolvedAlerts(before, limit) {
      return healthStatements.purgeResolvedAlerts.run(before, limit).changes;
    },

    async createBulkRetryJob(job) {
      return createJobTx.immediate(job);
    },
    async getJob(accountId, id) {
      const row = jobStatements.getJob.get(accountId, id) as Database['jobs'] | undefined;
      return row && jobWithCounts(row);
    },
    async claimRunningJob({ now, leaseMs, owner }) {
      const row = jobStatements.claimJob.get({ now, leaseUntil: now + leaseMs, owner }) as Database['jobs'] | undefined;
      return row && jobWithCounts(row);
    },
    async renewJobLease(jobId, owner, leaseUntil) {
      return jobStatements.renewLease.run(leaseUntil, jobId, owner).changes > 0;
    },
    async releaseJobLease(jobId, owner) {
      jobStatements.releaseLease.run(jobId, owner);
    },
    async takeOpenJobItems(jobId, afterDeliveryId, limit, now) {
      return takeItemsTx.immediate(jobId, afterDeliveryId, limit, now);
    },
    async recordJobItemOutcomes(results, at) {
      if (results.length > 0) recordOutcomesTx.immediate(results, at);
    },

    async recordConnectionSync(report) {
      return applySync(report);
    },
  } satisfies SqliteStore & ThisType<SqliteStore>;
}

/** Expired idempotency keys, oldest first: a range on idempotency_keys_expiry (plan checked in retention-purge.test.ts). */
export const PURGE_IDEMPOTENCY_SQL = `DELETE FROM idempotency_keys WHERE rowid IN (
  SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`;

/** Thrown inside a transaction to roll back the revocation of an account's last admin key. */
const LAST_ADMIN = new Error('the last admin key of the account');

/**
 * How long an opening process keeps trying to switch the file to WAL while another holds it. The
 * switch reads the file and then takes the write lock, and SQLite refuses that upgrade at once
 * (SQLITE_BUSY) instead of waiting out busy_timeout: a reader waiting for the write lock could
 * deadlock with another. Processes starting at once on a new file meet it: one switches, the
 * others are refused within milliseconds. As long as busy_timeout, which every other start-up
 * step waits: a lock held longer is no start-up race.
 */
const WAL_SWITCH_WAIT_MS = 5000;
/** Between tries: the switch, or a migration step of the process holding the lock, takes a few ms. */
const WAL_SWITCH_RETRY_MS = 10;

function useWal(sqlite: BetterSqlite3.Database): void {
  const giveUpAt = Date.now() + WAL_SWITCH_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = /^SQLITE_BUSY/.test(String((error as { code?: unknown }).code));
      if (!busy || Date.now() >= giveUpAt) throw error;
    }
    // Synchronous, as the open is: on the store's own thread (sqlite-thread.ts) nothing else waits.
    Atomics.wait(pause, 0, 0, WAL_SWITCH_RETRY_MS);
  }
}

/**
 * Applies the migrations not yet applied, each in its own transaction. The version is read inside
 * that write transaction (BEGIN IMMEDIATE), so processes starting at once on one file take turns:
 * the second sees what the first applied instead of applying it again.
 *
 * When none is pending (every start but a version's first) it takes no write lock at all: a
 * process starting beside others that keep the write lock busy (a fleet under load) need not win
 * it. busy_timeout only polls for the lock, so a writer that commits with little pause between
 * can leave it waiting until the timeout fails its start.
 */
function migrate(sqlite: BetterSqlite3.Database): void {
  if ((sqlite.pragma('user_version', { simple: true }) as number) >= SQLITE_MIGRATIONS.length) return;
  const step = sqlite.transaction((): boolean => {
    const applied = sqlite.pragma('user_version', { simple: true }) as number;
    const next = SQLITE_MIGRATIONS[applied];
    if (next === undefined) return false;
    sqlite.exec(next);
    sqlite.pragma(`user_version = ${applied + 1}`);
    return true;
  });
  while (step.immediate()) {}
}

export type { DeliveryRecord };
