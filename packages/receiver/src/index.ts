/** What heraldClient's calls throw: @herald/client's error, with the API's status, code and request id. */
export { HeraldError } from '@herald/client';
export { type Clock, type ManualClock, manualClock, systemClock } from '@herald/protocol';
export type { Alert, FailureRateOptions } from './alerts.js';
export { type HeraldClient, type HeraldClientOptions, heraldClient, type SyncStatus } from './client.js';
export type { ReceivedEvent } from './event.js';
export { type PostgresInboxOptions, postgresInbox } from './inbox/postgres.js';
export { type SqliteInboxOptions, sqliteInbox } from './inbox/sqlite.js';
export type {
  Inbox,
  InboxConflict,
  InboxEvent,
  InboxStatus,
  InboxTransaction,
  ListQuery,
} from './inbox/types.js';
export type { Logger } from './log.js';
export type { Handler, HandlerContext, Handlers, RetryOptions } from './processor.js';
export { createReceiver, type Receiver, type ReceiverOptions } from './receiver.js';
export { RawBodyError, type ReceiverRequest, type ReceiverResponse } from './response.js';
export type { ReceiverScheme } from './verify.js';
export type { FallbackOptions, PolledEvent, PollFunction } from './watchdog.js';
