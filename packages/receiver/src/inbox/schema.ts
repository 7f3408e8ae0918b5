/**
 * The inbox's tables, by schema version, in both dialects side by side. Each store records the
 * version it has reached in `<table>_schema` and applies the later steps in order when it opens
 * (sqlite.ts and postgres.ts), as the sender's stores do with their migrations. Append only: a
 * shipped step is never edited; a change is a new step in both lists.
 *
 * Step 1 is written with IF NOT EXISTS so that an inbox created before versions existed adopts it.
 *
 * Step 2 (exact sequence order) adds each endpoint's stream: `contiguous` is the sequence up to
 * which every event of the endpoint has arrived (null while its start is not settled), with the
 * index its checks use. An inbox from before it has pending events with a sequence but no stream:
 * their streams start just before the lowest of them, so none waits for what came before. Written
 * with IF NOT EXISTS and ON CONFLICT too, for an inbox that had the streams before it had a version.
 */

/** The names a step writes into its SQL (already quoted for PostgreSQL). */
export interface InboxTableNames {
  events: string;
  conflicts: string;
  keys: string;
  cursors: string;
  streams: string;
  /** The bare prefix, for index names. */
  prefix: string;
}

export const SQLITE_STEPS: readonly ((n: InboxTableNames) => string)[] = [
  (n) => `
    CREATE TABLE IF NOT EXISTS ${n.events} (
      id TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      order_key TEXT,
      endpoint_id TEXT NOT NULL,
      connection_id TEXT,
      sequence INTEGER NOT NULL,
      occurred_at TEXT NOT NULL,
      body TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      source TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL,
      locked_by TEXT,
      locked_until INTEGER,
      last_error TEXT,
      processed_at INTEGER
    );
    -- The claim's scan: pending events by due time.
    CREATE INDEX IF NOT EXISTS ${n.prefix}_due ON ${n.events} (next_attempt_at) WHERE status = 'pending';
    -- The claim's per-key check: the earliest pending event of a key.
    CREATE INDEX IF NOT EXISTS ${n.prefix}_key ON ${n.events} (order_key, sequence, occurred_at, id) WHERE status = 'pending';
    -- list({ status }) newest first, and pruning by age.
    CREATE INDEX IF NOT EXISTS ${n.prefix}_status ON ${n.events} (status, received_at);
    CREATE TABLE IF NOT EXISTS ${n.conflicts} (
      id TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      body TEXT NOT NULL,
      source TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      PRIMARY KEY (id, body_hash)
    );
    CREATE TABLE IF NOT EXISTS ${n.keys} (
      order_key TEXT PRIMARY KEY,
      endpoint_id TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      occurred_at TEXT NOT NULL,
      event_id TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${n.cursors} (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  (n) => `
    CREATE TABLE IF NOT EXISTS ${n.streams} (
      endpoint_id TEXT PRIMARY KEY,
      contiguous INTEGER,
      opened_at INTEGER NOT NULL
    );
    -- The streams' contiguity checks.
    CREATE INDEX IF NOT EXISTS ${n.prefix}_sequence ON ${n.events} (endpoint_id, sequence);
    INSERT INTO ${n.streams} (endpoint_id, contiguous, opened_at)
    SELECT endpoint_id, min(sequence) - 1, 0 FROM ${n.events}
    WHERE status = 'pending' AND sequence > 0 AND endpoint_id <> '' GROUP BY endpoint_id
    ON CONFLICT (endpoint_id) DO NOTHING;
  `,
];

export const POSTGRES_STEPS: readonly ((n: InboxTableNames) => string)[] = [
  (n) => `
    CREATE TABLE IF NOT EXISTS ${n.events} (
      id TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      order_key TEXT,
      endpoint_id TEXT NOT NULL,
      connection_id TEXT,
      sequence BIGINT NOT NULL,
      occurred_at TEXT NOT NULL,
      body TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      source TEXT NOT NULL,
      received_at BIGINT NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      locked_by TEXT,
      locked_until BIGINT,
      last_error TEXT,
      processed_at BIGINT
    );
    CREATE INDEX IF NOT EXISTS ${n.prefix}_due ON ${n.events} (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX IF NOT EXISTS ${n.prefix}_key ON ${n.events} (order_key, sequence, occurred_at, id) WHERE status = 'pending';
    CREATE INDEX IF NOT EXISTS ${n.prefix}_status ON ${n.events} (status, received_at);
    CREATE TABLE IF NOT EXISTS ${n.conflicts} (
      id TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      body TEXT NOT NULL,
      source TEXT NOT NULL,
      received_at BIGINT NOT NULL,
      PRIMARY KEY (id, body_hash)
    );
    CREATE TABLE IF NOT EXISTS ${n.keys} (
      order_key TEXT PRIMARY KEY,
      endpoint_id TEXT NOT NULL,
      sequence BIGINT NOT NULL,
      occurred_at TEXT NOT NULL,
      event_id TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${n.cursors} (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  (n) => `
    CREATE TABLE IF NOT EXISTS ${n.streams} (
      endpoint_id TEXT PRIMARY KEY,
      contiguous BIGINT,
      opened_at BIGINT NOT NULL
    );
    -- The streams' contiguity checks.
    CREATE INDEX IF NOT EXISTS ${n.prefix}_sequence ON ${n.events} (endpoint_id, sequence);
    INSERT INTO ${n.streams} (endpoint_id, contiguous, opened_at)
    SELECT endpoint_id, min(sequence) - 1, 0 FROM ${n.events}
    WHERE status = 'pending' AND sequence > 0 AND endpoint_id <> '' GROUP BY endpoint_id
    ON CONFLICT (endpoint_id) DO NOTHING;
  `,
];

/** The schema version this library writes and reads. */
export const INBOX_SCHEMA_VERSION = SQLITE_STEPS.length;

/** An inbox whose tables a newer library has changed: this one must not write to them. */
export function newerSchemaError(where: string, version: number): Error {
  return new Error(
    `The ${where} has schema version ${version}, newer than this @herald/receiver knows ` +
      `(${INBOX_SCHEMA_VERSION}): upgrade @herald/receiver, or use another table.`,
  );
}
