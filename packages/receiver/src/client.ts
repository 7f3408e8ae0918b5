import { type Envelope, HeraldError, isErrorBody } from '@herald/protocol';

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

/** The part of Herald's REST API a receiver reads. Errors are thrown as HeraldError. */
export interface HeraldClient {
  readonly endpointId: string | undefined;
  syncStatus(connectionId: string): Promise<SyncStatus>;
  /** One endpoint's stream, in sequence order, after a sequence: how a gap is filled. */
  endpointEvents(endpointId: string, after: number, limit?: number): Promise<Page<Envelope>>;
  /** The events feed, oldest first, after a cursor. */
  events(query?: { after?: string; type?: string; connectionId?: string; limit?: number }): Promise<Page<FeedEvent>>;
}

/**
 * A client of Herald's API for the watchdog.
 * @example fallback: { silentAfter: '15m', client: heraldClient({ baseUrl, apiKey, endpointId }) }
 */
export function heraldClient(options: HeraldClientOptions): HeraldClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;

  async function get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const response = await doFetch(url, {
      headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      if (isErrorBody(body)) {
        throw new HeraldError(body.error.code, body.error.message, { requestId: body.error.request_id });
      }
      throw new HeraldError(
        response.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'INVALID_REQUEST',
        `GET ${url.pathname} answered ${response.status}.`,
      );
    }
    return body as T;
  }

  return {
    endpointId: options.endpointId,
    syncStatus: (connectionId) => get(`/v1/connections/${encodeURIComponent(connectionId)}/sync-status`),
    endpointEvents: (endpointId, after, limit = 100) => get('/v1/events', { endpoint_id: endpointId, after, limit }),
    events: (query = {}) =>
      get('/v1/events', {
        after: query.after,
        type: query.type,
        connection_id: query.connectionId,
        limit: query.limit,
      }),
  };
}
