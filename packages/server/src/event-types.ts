import { BUILT_IN_EVENT_TYPES as BUILT_IN_NAMES, type BuiltInEventType } from '@herald/protocol';
import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * The built-in event types and the JSON Schema of each one's `data`. A publish of one of these
 * types must match its schema (POST /v1/events answers 400 naming the field otherwise), and so must
 * what Herald emits itself. Producers' own types are not checked.
 *
 * The schemas require only what a receiver cannot do without and type the fields they name; more
 * fields are allowed, so a producer can add detail without a new type.
 *
 * Which types are built in is @herald/protocol's list (BUILT_IN_EVENT_TYPES), the one source: this
 * table is keyed by it, and the compiler refuses a type missing here or one the protocol lacks.
 */

const Time = Type.String({ format: 'date-time', description: 'ISO-8601 UTC time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const ConnectionId = Type.String({ minLength: 1, maxLength: 255, description: "The producer's connection id" });

export const SyncCompletedData = Type.Object(
  {
    connection_id: ConnectionId,
    status: Type.Optional(Type.Literal('completed')),
    started_at: Type.Optional(NullableTime),
    completed_at: Type.Optional(Time),
    next_scheduled_at: Type.Optional(NullableTime),
  },
  { additionalProperties: true },
);

export const SyncFailedData = Type.Object(
  {
    connection_id: ConnectionId,
    status: Type.Optional(Type.Literal('failed')),
    error: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    started_at: Type.Optional(NullableTime),
    failed_at: Type.Optional(Time),
    next_scheduled_at: Type.Optional(NullableTime),
  },
  { additionalProperties: true },
);

export type SyncCompletedData = Static<typeof SyncCompletedData>;
export type SyncFailedData = Static<typeof SyncFailedData>;

const DETAILS = {
  'sync.completed': {
    description: 'A sync of a connection finished; the receiver may read what changed.',
    schema: SyncCompletedData,
  },
  'sync.failed': {
    description: 'A sync of a connection failed; `error` says why.',
    schema: SyncFailedData,
  },
  'connection.auth_required': {
    description: 'A connection needs its user to authorise it again before it can sync.',
    schema: Type.Object(
      {
        connection_id: ConnectionId,
        reason: Type.Optional(Type.String()),
        auth_url: Type.Optional(Type.String()),
      },
      { additionalProperties: true },
    ),
  },
  'connection.status_changed': {
    description: "A connection's status changed (e.g. active → paused).",
    schema: Type.Object(
      {
        connection_id: ConnectionId,
        status: Type.String({ minLength: 1 }),
        previous_status: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        reason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      },
      { additionalProperties: true },
    ),
  },
  'system.error': {
    description: 'Something went wrong on the producer’s side that a receiver should know about.',
    schema: Type.Object(
      {
        message: Type.String({ minLength: 1 }),
        code: Type.Optional(Type.String()),
        details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
      { additionalProperties: true },
    ),
  },
  'endpoint.disabled': {
    description: 'Herald disabled an endpoint (it answered 410 Gone, or failed every attempt for days).',
    schema: Type.Object(
      {
        endpoint_id: Type.String({ minLength: 1 }),
        url: Type.Optional(Type.String()),
        reason: Type.String({ minLength: 1 }),
        message: Type.Optional(Type.String()),
        disabled_at: Type.Optional(Time),
      },
      { additionalProperties: true },
    ),
  },
  'alert.triggered': {
    description: 'An operational alert crossed its threshold, or recovered (`resolved: true`).',
    schema: Type.Object(
      {
        alert: Type.Optional(Type.String()),
        resolved: Type.Optional(Type.Boolean()),
        message: Type.Optional(Type.String()),
        endpoint_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        value: Type.Optional(Type.Number()),
        threshold: Type.Optional(Type.Number()),
      },
      { additionalProperties: true },
    ),
  },
} satisfies Record<BuiltInEventType, { description: string; schema: TSchema }>;

/** The built-in types in the protocol's order, each with its description and schema (GET /v1/event-types). */
export const BUILT_IN_EVENT_TYPES = BUILT_IN_NAMES.map((name) => ({ name, ...DETAILS[name] }));

export type { BuiltInEventType };

/** One schema problem, in the ajv-style shape api/errors.ts turns into a sentence. */
export interface DataIssue {
  keyword: string;
  /** JSON pointer into `data`, e.g. `/connection_id`. */
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const validators = new Map(BUILT_IN_EVENT_TYPES.map((t) => [t.name as string, Compile(t.schema)]));

export function isBuiltInEventType(type: string): type is BuiltInEventType {
  return validators.has(type);
}

/** The problems of `data` for a built-in type; empty when it matches, or when the type is not built in. */
export function eventDataIssues(type: string, data: unknown): DataIssue[] {
  const validator = validators.get(type);
  if (!validator || validator.Check(data)) return [];
  return [...validator.Errors(data)] as DataIssue[];
}
