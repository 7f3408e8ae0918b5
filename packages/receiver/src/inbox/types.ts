import type { Logger } from '../log.js';

/**
 * The inbox: where the route writes every verified webhook before it answers 200, and where the
 * processor claims them from. One interface, two stores (SQLite and PostgreSQL), one test suite
 * (`suite.ts`).
 */

/**
 * - `pending`: waiting for its handler, or for its next try after a failure
 * - `processed`: its handler succeeded (or it had none)
 * - `dead`: its handler failed `retry.attempts` times; waits for a person to replay it
 * - `stale`: without a sequence, and older than an event already processed for its order key; skipped
 */
export type InboxStatus = 'pending' | 'processed' | 'dead' | 'stale';
export const INBOX_STATUSES: readonly InboxStatus[] = ['pending', 'processed', 'dead', 'stale'];

/** Where an event came from: a delivery to the route, or the watchdog's polling. */
export type EventSource = 'webhook' | 'poll';

export interface NewInboxEvent {
  /** The `webhook-id` (the event id): the key duplicates are recognised by. */
  id: string;
  type: string;
  /** `order.key(event)`, or null when the event is not ordered. */
  orderKey: string | null;
  endpointId: string;
  connectionId: string | null;
  sequence: number;
  occurredAt: string;
  /** The raw JSON body. */
  body: string;
  /** sha256 of the body, base64. */
  bodyHash: string;
  source: EventSource;
  /** ms since the epoch. */
  receivedAt: number;
}

/** What became of one inserted event: new, a duplicate of a known id, or a different body under a known id. */
export type InsertOutcome = 'inserted' | 'duplicate' | 'conflict';

export interface InboxEvent extends NewInboxEvent {
  status: InboxStatus;
  /** Handler runs so far. */
  attempts: number;
  /** ms; when a pending event may run next. */
  nextAttemptAt: number;
  lastError: string | null;
  processedAt: number | null;
}

/** A body that arrived under a known id but differs from the one kept: kept aside, never processed. */
export interface InboxConflict {
  id: string;
  body: string;
  bodyHash: string;
  source: EventSource;
  receivedAt: number;
}

/** The newest event processed for an order key; anything older is stale. */
export interface KeyPosition {
  endpointId: string;
  sequence: number;
  occurredAt: string;
  eventId: string;
}

export interface ClaimInput {
  workerId: string;
  now: number;
  /** The claim holds until `now + leaseMs`; a worker that dies releases its events when it runs out. */
  leaseMs: number;
  limit: number;
  /**
   * When an endpoint's stream start is still open (a fresh inbox that has not received its sequence
   * 1), settle it if it was opened at or before `before`: at the lowest sequence received, or at 0
   * (the beginning). Without it, only sequence 1 or `openStream` settles a stream.
   */
  settle?: { before: number; from: 'lowest' | 'beginning' };
}

/**
 * An endpoint's stream in the inbox: every sequence in (start, contiguous] has arrived. `contiguous`
 * is null while the start is not settled. An ordered event with a sequence is claimed only once
 * every lower sequence of its endpoint (after the start) has arrived.
 */
export interface StreamState {
  endpointId: string;
  contiguous: number | null;
  /** The highest sequence received. */
  highest: number;
}

export interface ListQuery {
  status?: InboxStatus;
  /** Only events received at or after this time (ms). */
  since?: number;
  limit?: number;
}

export type ReplayTarget = string | readonly string[] | { status: 'dead'; since?: number };

/**
 * Writes a handler makes through `ctx.transaction` commit in the same transaction that marks its
 * event processed, or not at all.
 */
export interface InboxTransaction {
  /**
   * Runs one statement in that transaction. Placeholders: `?` on SQLite, `$1` on PostgreSQL.
   * On SQLite the statement is checked now and applied at commit (so a slow handler never holds the
   * write lock); on PostgreSQL it runs at once inside the open transaction.
   * @example await ctx.transaction.run('INSERT INTO invoices (id, total) VALUES (?, ?)', [id, total])
   */
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  /**
   * Rows of a query: on PostgreSQL inside the transaction; on SQLite the committed state (writes
   * queued by `run` are not visible yet).
   */
  all<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** The end of one handler run. */
export interface Completion {
  id: string;
  workerId: string;
  status: 'processed' | 'stale';
  now: number;
  /** For an ordered event that was processed: its key's new position. */
  position?: { key: string } & KeyPosition;
}

/**
 * A statement the handler queued through ctx.transaction failed when the unit committed (SQLite
 * applies them at commit): the handler's failure, unlike the inbox failing to commit. `cause` is
 * the database's error.
 */
export class HandlerWriteError extends Error {
  override readonly name = 'HandlerWriteError';
}

/** One handler run's unit of work. */
export interface InboxUnit {
  readonly transaction: InboxTransaction;
  /**
   * Commits the handler's writes with the completion; false (and nothing written) if the claim was
   * lost. Throws HandlerWriteError when one of the handler's statements fails.
   */
  commit(completion: Completion): Promise<boolean>;
  /** Drops the handler's writes. */
  rollback(): Promise<void>;
  /**
   * Whether a statement of the handler's failed because the inbox's connection was lost: what the
   * handler then throws is the inbox's trouble, not the handler's. @default false
   */
  readonly connectionLost?: boolean;
}

export interface Failure {
  id: string;
  workerId: string;
  error: string;
  attempts: number;
  /** ms; null parks the event as dead. */
  nextAttemptAt: number | null;
}

/** What the receiver gives its inbox when it opens it. */
export interface InboxContext {
  /** Where the inbox says what happened to its connections. @default JSON lines on the console */
  logger?: Logger;
}

export interface Inbox {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, for messages: the SQLite file, or the PostgreSQL schema and table. */
  readonly where: string;
  /** How many batches of the route's inserts the store writes at once. @default 1 */
  readonly insertWriters?: number;
  /** Creates the tables if needed. Safe to call more than once, and from several processes. */
  open(context?: InboxContext): Promise<void>;
  close(): Promise<void>;
  /** Inserts in one transaction, committed (and synced) before it resolves. Known ids change nothing. */
  insert(events: readonly NewInboxEvent[]): Promise<InsertOutcome[]>;
  /**
   * Due pending events, at most one in flight per order key, the lowest of its key first; an ordered
   * event with a sequence only once its endpoint's stream is contiguous up to it.
   */
  claim(input: ClaimInput): Promise<InboxEvent[]>;
  extendLease(ids: readonly string[], workerId: string, until: number): Promise<void>;
  /** The workers that hold claims on pending events (their leases may have run out). */
  claimants(): Promise<string[]>;
  /**
   * Lets go of a worker's claims on pending events (only of `ids`, when given), so that they can be
   * claimed at once: attempts and due time unchanged. Returns how many.
   */
  release(workerId: string, ids?: readonly string[]): Promise<number>;
  keyPosition(key: string): Promise<KeyPosition | null>;
  begin(): InboxUnit;
  fail(failure: Failure): Promise<void>;
  get(id: string): Promise<InboxEvent | null>;
  /** Newest first. */
  list(query?: ListQuery): Promise<InboxEvent[]>;
  conflicts(limit?: number): Promise<InboxConflict[]>;
  /** Makes events pending again, due at `now`, with their attempts reset. Returns how many. */
  replay(target: ReplayTarget, now: number): Promise<number>;
  /** Deletes processed and stale events and conflicts received before `before`. Returns how many events. */
  prune(before: number): Promise<number>;
  /** Pending events and when the oldest was received (ms), for the lag metric. */
  stats(): Promise<{ pending: number; oldestPendingAt: number | null; dead: number }>;
  /** The watchdog's saved places, by name. */
  cursors(): Promise<Record<string, string>>;
  saveCursors(values: Record<string, string>): Promise<void>;
  /** Every endpoint stream the inbox has heard of. */
  streams(): Promise<StreamState[]>;
  /**
   * Settles an endpoint's stream start at `contiguous` (every sequence up to it counts as arrived),
   * unless it is settled already. Returns whether it was set.
   */
  openStream(endpointId: string, contiguous: number): Promise<boolean>;
}
