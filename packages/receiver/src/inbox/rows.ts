import type { EventSource, InboxConflict, InboxEvent, InboxStatus, KeyPosition, StreamState } from './types.js';

/** A row of the inbox table as either driver returns it (Postgres BIGINTs arrive as strings). */
export interface EventRow {
  id: string;
  type: string;
  order_key: string | null;
  endpoint_id: string;
  connection_id: string | null;
  sequence: number | string;
  occurred_at: string;
  body: string;
  body_hash: string;
  source: string;
  received_at: number | string;
  status: string;
  attempts: number;
  next_attempt_at: number | string;
  last_error: string | null;
  processed_at: number | string | null;
}

export function toEvent(row: EventRow): InboxEvent {
  return {
    id: row.id,
    type: row.type,
    orderKey: row.order_key,
    endpointId: row.endpoint_id,
    connectionId: row.connection_id,
    sequence: Number(row.sequence),
    occurredAt: row.occurred_at,
    body: row.body,
    bodyHash: row.body_hash,
    source: row.source as EventSource,
    receivedAt: Number(row.received_at),
    status: row.status as InboxStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error,
    processedAt: row.processed_at === null ? null : Number(row.processed_at),
  };
}

export interface ConflictRow {
  id: string;
  body: string;
  body_hash: string;
  source: string;
  received_at: number | string;
}

export function toConflict(row: ConflictRow): InboxConflict {
  return {
    id: row.id,
    body: row.body,
    bodyHash: row.body_hash,
    source: row.source as EventSource,
    receivedAt: Number(row.received_at),
  };
}

export interface KeyRow {
  endpoint_id: string;
  sequence: number | string;
  occurred_at: string;
  event_id: string;
}

export function toPosition(row: KeyRow): KeyPosition {
  return {
    endpointId: row.endpoint_id,
    sequence: Number(row.sequence),
    occurredAt: row.occurred_at,
    eventId: row.event_id,
  };
}

export interface StreamRow {
  endpoint_id: string;
  contiguous: number | string | null;
  highest: number | string | null;
}

export function toStream(row: StreamRow): StreamState {
  return {
    endpointId: row.endpoint_id,
    contiguous: row.contiguous === null ? null : Number(row.contiguous),
    highest: row.highest === null ? 0 : Number(row.highest),
  };
}

/** A table name prefix must be a plain identifier: it is written into SQL. */
export function checkIdentifier(name: string, what: string): string {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) {
    throw new TypeError(`${what} must be a lower-case SQL identifier (letters, digits, _); got "${name}".`);
  }
  return name;
}
