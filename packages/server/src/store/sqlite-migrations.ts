/**
 * SQLite migrations, applied in order at start; `PRAGMA user_version` records how many ran.
 * Append only: a shipped migration is never edited.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role TEXT NOT NULL,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
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
    previous_secret_expires_at INTEGER,
    signature_scheme TEXT NOT NULL,
    headers TEXT NOT NULL,
    rate_limit_per_s INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    last_sequence INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
  );
  CREATE INDEX endpoints_account ON endpoints(account_id, id);
  CREATE TABLE events (
    feed_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    connection_id TEXT,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  -- The feed reads an account's events in commit order.
  CREATE INDEX events_account_feed ON events(account_id, feed_seq);
  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    status TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
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
    started_at INTEGER NOT NULL,
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
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
  );
  CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
  `,
];
