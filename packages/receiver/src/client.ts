import { createClient, type RetryPolicy } from '@herald/client';
import type { Envelope } from '@herald/protocol';

export interface HeraldClientOptions {
  /**
   * Where Herald's API is.
   * @example 'https://herald.example.com'
   */
  baseUrl: string;
  /**
   * An API key; a `read` key is enough.
   * @example process.env.HERALD_API_KEY
   */
  apiKey: string;
  /**
   * The sender's endpoint id of this receiver, so that the watchdog can poll its stream even before
   * the first webhook came. Without it, the watchdog polls the endpoints it has heard from.
   * @default undefined
   * @example 'ep_01JD…'
   */
  endpointId?: string;
  /**
   * How long one request may take, ms.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * When a failed read is tried again (a 429 or 503, a network error): @herald/client's policy.
   * @default { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30000 }
   */
  retry?: Partial<RetryPolicy>;
  /**
   * The fetch to use.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

/** `GET /v1/connections/:id/sync-status` */
export interface SyncStatus {
  connection_id: string;
  status: string;
  last_successful_sync_at: string | null;
  last_error: string | null;
  next_scheduled_sync_at: string | null;
}

/** A page of a list: `{data, next_cursor}`. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** An event of the feed: `{id, type, occurred_at, connection_id, data, created_at}`. */
export interface FeedEvent {
  id: string;
  type: string;
  occurred_at: string;
  connection_id: string | null;
  data: unknown;
  created_at: string;
}

/**
 * The part of Herald's REST API a receiver reads. heraldClient's errors are @herald/client's
 * HeraldError (status, code, message, requestId; status 0 when no answer came).
 */
export interface HeraldClient {
  readonly endpointId: string | undefined;
  syncStatus(connectionId: string): Promise<SyncStatus>;
  /** One endpoint's stream, in sequence order, after a sequence: how a gap is filled. */
  endpointEvents(endpointId: string, after: number, limit?: number): Promise<Page<Envelope>>;
  /** The events feed, oldest first, after a cursor. */
  events(query?: { after?: string; type?: string; connectionId?: string; limit?: number }): Promise<Page<FeedEvent>>;
}

/**
 * A client of Herald's API for the watchdog: the three reads it makes, through @herald/client.
 * @example fallback: { silentAfter: '15m', client: heraldClient({ baseUrl, apiKey, endpointId }) }
 */
export function heraldClient(options: HeraldClientOptions): HeraldClient {
  const api = createClient({
    url: options.baseUrl,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.retry && { retry: options.retry }),
    ...(options.fetch && { fetch: options.fetch }),
  });
  return {
    endpointId: options.endpointId,
    syncStatus: (connectionId) => api.connections.syncStatus(connectionId),
    endpointEvents: (endpointId, after, limit = 100) => api.events.streamPage(endpointId, { after, limit }),
    events: (query = {}) =>
      api.events.page({
        after: query.after,
        type: query.type,
        connection_id: query.connectionId,
        limit: query.limit,
      }),
  };
}
