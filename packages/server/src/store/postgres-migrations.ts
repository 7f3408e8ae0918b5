/**
 * PostgreSQL migrations, applied in order at start under an advisory lock (see postgres.ts);
 * the table herald_migrations records which ran. Append only: a shipped migration is never edited.
 *
 * The tables and columns are those of sqlite-migrations.ts, so rows.ts and reads.ts serve both:
 * times are BIGINT ms (parsed to numbers by the pool), JSON is TEXT, flags are 0/1 INTEGERs.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role TEXT NOT NULL,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE INDEX api_keys_account ON api_keys(account_id, id);
  CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    event_types TEXT NOT NULL,
    connection_ids TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at BIGINT,
    signature_scheme TEXT NOT NULL,
    headers TEXT NOT NULL,
    rate_limit_per_s INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    last_sequence BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
  );
  CREATE INDEX endpoints_account ON endpoints(account_id, id);
  -- feed_seq is not a sequence: publish takes it from feed_counter while holding that row's lock
  -- until commit, so feed order is commit order (see publish in postgres.ts).
  CREATE TABLE feed_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
  INSERT INTO feed_counter VALUES (1, 0);
  CREATE TABLE events (
    feed_seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    connection_id TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  -- The feed reads an account's events in commit order.
  CREATE INDEX events_account_feed ON events(account_id, feed_seq);
  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  -- The claim: pending deliveries by due time; the partial index holds only pending rows, so it
  -- stays small however many delivered rows pile up.
  CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
  CREATE UNIQUE INDEX deliveries_endpoint_sequence ON deliveries(endpoint_id, sequence);
  CREATE INDEX deliveries_account ON deliveries(account_id, id);
  CREATE INDEX deliveries_account_status ON deliveries(account_id, status, id);
  CREATE INDEX deliveries_event ON deliveries(event_id);
  CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    attempt_no INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    request_headers TEXT NOT NULL,
    response_status INTEGER,
    response_headers TEXT,
    response_body TEXT,
    error TEXT,
    manual INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX attempts_delivery ON attempts(delivery_id, attempt_no);
  `,
  `
  -- Idempotency-Key of POST /v1/events: the first publish's result, replayed for the same key and body.
  CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    event_id TEXT NOT NULL,
    deliveries TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
  );
  CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
  `,
  `
  -- Bulk jobs (POST /v1/deliveries/retry): the set of deliveries is written with the job, so total
  -- is fixed; progress is the count of items with an outcome. A runner holds a job under a lease.
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    total INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
  );
  -- The runner's claim looks only at running jobs.
  CREATE INDEX jobs_running ON jobs(created_at) WHERE state = 'running';
  -- Items by (job_id, delivery_id): the runner pages open items, progress counts them by job.
  CREATE TABLE job_items (
    job_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    outcome TEXT,
    started_at BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (job_id, delivery_id)
  );
  -- Open items only: "is the job finished?" after each batch of outcomes stays cheap on a long job.
  CREATE INDEX job_items_open ON job_items(job_id) WHERE outcome IS NULL;
  -- Sync status per connection (the producer's own id), reported by POST /v1/connections/:id/syncs.
  CREATE TABLE connections (
    account_id TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    last_successful_sync_at BIGINT,
    last_error TEXT,
    next_scheduled_sync_at BIGINT,
    sync_started_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
  );
  `,
  `
  -- Endpoint health: when the endpoint's current run of failed attempts began (null: not failing).
  ALTER TABLE endpoints ADD COLUMN failing_since BIGINT;
  -- The failing-endpoint check reads only enabled endpoints in a run of failures.
  CREATE INDEX endpoints_failing ON endpoints(failing_since) WHERE failing_since IS NOT NULL AND disabled = 0;
  -- Attempts by start time: the last attempt (readiness) and the 15-minute failure rate (alerts).
  CREATE INDEX attempts_started ON attempts(started_at);
  -- Retention reads only what it still has to purge, oldest first.
  CREATE INDEX attempts_body_kept ON attempts(started_at) WHERE response_body IS NOT NULL;
  CREATE INDEX events_payload_kept ON events(created_at) WHERE data <> 'null';
  -- Open alerts (alerts/alert-check.ts), so a restart neither fires one again nor forgets to resolve it.
  CREATE TABLE alerts (
    account_id TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    endpoint_id TEXT,
    value DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    opened_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
  );
  `,
  `
  -- Periodic checks (health/background-checks.ts): when each last ran, so that of all the worker
  -- processes only one runs it per interval.
  CREATE TABLE periodic_runs (
    name TEXT PRIMARY KEY,
    last_run_at BIGINT NOT NULL,
    owner TEXT NOT NULL
  );
  -- Which dispatcher process holds each endpoint's deliveries (claimDueDeliveries): one at a time,
  -- so the endpoint's cap on requests in flight and its rate limit hold across the fleet.
  CREATE TABLE endpoint_leases (
    endpoint_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lease_until BIGINT NOT NULL
  );
  CREATE INDEX endpoint_leases_owner ON endpoint_leases(owner);
  `,
  `
  -- The claim holding a pending delivery (a token per claim): an attempt's outcome is written only
  -- while its claim still holds the delivery (Store.recordAttempts), so a late outcome never
  -- overwrites a delete, a success or a newer claim.
  ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
  `,
  `
  -- Every alert, open or resolved, as GET /v1/alerts lists it (newest first). The alerts table stays
  -- the fire-once guard of open alerts; a row here is written in the same transaction as each change
  -- there (Store.openAlert, Store.closeAlert).
  CREATE TABLE alert_history (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    endpoint_id TEXT,
    value DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT
  );
  -- The list, newest first: all of an account's alerts, or its open ones alone, or those resolved
  -- since a time (the index range ends at the window, so old history is never read).
  CREATE INDEX alert_history_account ON alert_history(account_id, opened_at, id);
  CREATE INDEX alert_history_open ON alert_history(account_id, opened_at, id) WHERE resolved_at IS NULL;
  CREATE INDEX alert_history_resolved ON alert_history(account_id, resolved_at) WHERE resolved_at IS NOT NULL;
  -- Alerts open before this migration: their history starts now (any unique id: the list pages by
  -- opened_at, then id).
  INSERT INTO alert_history (id, account_id, key, kind, endpoint_id, value, threshold, message, details, opened_at)
    SELECT 'alrt_' || md5(account_id || ' ' || key), account_id, key, kind, endpoint_id, value, threshold, '', '{}', opened_at
    FROM alerts;
  -- GET /v1/stats/deliveries: the account's oldest due delivery, the first entry of its range.
  CREATE INDEX deliveries_account_due ON deliveries(account_id, next_attempt_at) WHERE status = 'pending';
  -- ... and its failing and disabled endpoints, counted over these entries alone.
  CREATE INDEX endpoints_account_failing ON endpoints(account_id)
    WHERE failing_since IS NOT NULL AND disabled = 0 AND deleted_at IS NULL;
  CREATE INDEX endpoints_account_disabled ON endpoints(account_id) WHERE disabled = 1 AND deleted_at IS NULL;
  `,
  `
  -- Disabled endpoints (Store.settleWaitingDeliveries): while its endpoint is disabled a pending
  -- delivery waits with next_attempt_at NULL, out of every range on deliveries_due (the claim,
  -- /metrics, /readyz, the backlog alert); it ends failed when its retry window closes, with the
  -- reason in failure_reason, or resumes on re-enable.
  ALTER TABLE deliveries ADD COLUMN failure_reason TEXT;
  -- The waiting deliveries of one endpoint, oldest first: resuming them and failing those whose
  -- window closed read only them.
  CREATE INDEX deliveries_waiting ON deliveries(endpoint_id, created_at)
    WHERE status = 'pending' AND next_attempt_at IS NULL;
  -- One endpoint's pending deliveries by due time (the claim, store/claim-sql.ts): parking them when it is disabled reads only
  -- them, not its delivered history.
  -- sequence last: deliveries due at one time (resumed together) are claimed oldest first.
  CREATE INDEX deliveries_endpoint_due ON deliveries(endpoint_id, next_attempt_at, sequence) WHERE status = 'pending';
  UPDATE deliveries SET next_attempt_at = NULL
  WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM endpoints WHERE disabled = 1 AND deleted_at IS NULL);
  `,
  `
  -- The claim, /metrics, /readyz and the backlog alert read pending deliveries per endpoint, on
  -- deliveries_endpoint_due (store/claim-sql.ts): one walk of all pending rows by due time read the
  -- rows of every endpoint it stepped over, and with this index beside it PostgreSQL still chose
  -- that walk for a per-endpoint probe when few endpoints hold many rows.
  DROP INDEX deliveries_due;
  `,
  `
  -- The circuit per endpoint (dispatch/circuit.ts): open since when (null: closed), when the next
  -- probe may be claimed, and how many probes failed since it opened. While it is open the
  -- endpoint's deliveries wait (next_attempt_at NULL), as a disabled endpoint's do.
  ALTER TABLE endpoints ADD COLUMN circuit_opened_at BIGINT;
  ALTER TABLE endpoints ADD COLUMN circuit_probe_at BIGINT;
  ALTER TABLE endpoints ADD COLUMN circuit_probes INTEGER NOT NULL DEFAULT 0;
  -- The claim's probes read only open circuits.
  CREATE INDEX endpoints_circuit_probe ON endpoints(circuit_probe_at) WHERE circuit_opened_at IS NOT NULL;
  `,
  `
  -- Tenants (issue 13): the producer's customers, by the producer's own ids. Endpoints, events,
  -- deliveries, jobs and connections carry the tenant they belong to (null: the producer's own).
  CREATE TABLE tenants (
    account_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
  );
  ALTER TABLE endpoints ADD COLUMN tenant_id TEXT;
  ALTER TABLE events ADD COLUMN tenant_id TEXT;
  ALTER TABLE deliveries ADD COLUMN tenant_id TEXT;
  ALTER TABLE jobs ADD COLUMN tenant_id TEXT;
  ALTER TABLE connections ADD COLUMN tenant_id TEXT;
  -- A tenant's lists (a portal session's, or ?tenant_id=): its rows only, newest first for deliveries.
  CREATE INDEX endpoints_tenant ON endpoints(account_id, tenant_id, id) WHERE tenant_id IS NOT NULL;
  CREATE INDEX events_tenant_feed ON events(account_id, tenant_id, feed_seq) WHERE tenant_id IS NOT NULL;
  CREATE INDEX deliveries_tenant ON deliveries(account_id, tenant_id, id) WHERE tenant_id IS NOT NULL;
  CREATE INDEX connections_tenant ON connections(account_id, tenant_id, id) WHERE tenant_id IS NOT NULL;
  -- Portal sessions: bearer tokens scoped to one tenant, found by the SHA-256 of the token.
  CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    read_only BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX portal_sessions_tenant ON portal_sessions(account_id, tenant_id);
  `,
  `
  -- deliveries_account_due served one read, the stats' oldest due delivery, by walking an account's
  -- due deliveries in due order; that walk stepped over every row of an endpoint left out (disabled,
  -- circuit open), a million with a million-delivery backlog. The read is now a probe per endpoint
  -- on deliveries_endpoint_due, and every delivery write stops paying for this index.
  DROP INDEX deliveries_account_due;
  `,
];
