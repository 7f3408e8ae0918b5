/** The public REST API, as the dashboard calls it: the signed-in key, JSON both ways. */

export type Role = 'admin' | 'read';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface Endpoint {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  connection_ids: string[];
  signature_scheme: string;
  headers: Record<string, string>;
  rate_limit_per_s: number | null;
  disabled: boolean;
  disabled_reason?: string | null;
  /** The endpoint's circuit: open while it keeps failing, its deliveries waiting for a probe. */
  circuit?: { state: 'closed' | 'open' | 'half_open'; opened_at: string | null; next_probe_at: string | null };
  created_at: string;
  secret?: string;
}

export interface HeraldEvent {
  id: string;
  type: string;
  occurred_at: string;
  connection_id: string | null;
  data: unknown;
  created_at: string;
}

export interface Delivery {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: DeliveryStatus;
  sequence: number;
  attempt_count: number;
  next_attempt_at: string | null;
  /** Why it ended failed without an attempt deciding it (its endpoint disabled or failing when its window closed). */
  failure_reason?: string | null;
  created_at: string;
  updated_at?: string;
  /** The list, single read and retry answer describe the delivery (GET /v1/deliveries); others may not. */
  event_type?: string | null;
  endpoint_description?: string | null;
  endpoint_url?: string | null;
  last_attempt?: { at: string; response_status: number | null; error: string | null } | null;
}

/** GET /v1/stats/deliveries: every bucket of the window, zeros included. */
export interface DeliveryStats {
  since: string;
  until: string;
  bucket_seconds: number;
  buckets: Array<{ start: string; succeeded: number; failed: number; pending: number }>;
  failed_by_endpoint: Array<{ endpoint_id: string; failed: number }>;
  /** Now, whatever the window: the oldest delivery due (null: none), and the endpoints failing or disabled. */
  oldest_due_at: string | null;
  oldest_due_delivery_id: string | null;
  failing_endpoints: number;
  disabled_endpoints: number;
}

/** GET /v1/alerts: an alert Herald fired, open or resolved (in the last 24 hours). */
export interface Alert {
  id: string;
  kind: 'endpoint_failure_rate' | 'delivery_backlog';
  endpoint_id: string | null;
  state: 'open' | 'resolved';
  value: number;
  threshold: number;
  message: string;
  details: Record<string, unknown>;
  opened_at: string;
  resolved_at: string | null;
}

export interface Attempt {
  id: string;
  attempt_no: number;
  started_at: string;
  duration_ms: number | null;
  request_headers: Record<string, string>;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  error: string | null;
  manual?: boolean;
}

export interface Job {
  id: string;
  kind: string;
  state: 'running' | 'completed' | 'failed';
  total: number;
  done: number;
  succeeded: number;
  failed: number;
}

export interface Connection {
  connection_id?: string;
  id?: string;
  status: string | null;
  last_successful_sync_at: string | null;
  last_error: string | null;
  next_scheduled_sync_at: string | null;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** An error answer of the API (or a network failure, with status 0), keeping its request id to quote. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** `onUnauthorized` hears every 401 (the portal shows its "session expired" page). */
export function createApi(key: string, base = '', onUnauthorized?: () => void): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, 'NETWORK_ERROR', `Herald could not be reached: ${String(error)}`, null);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      if (response.status === 401) onUnauthorized?.();
      const error = (parsed as { error?: { code?: string; message?: string; request_id?: string } } | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? `${response.status} ${response.statusText}`,
        error?.request_id ?? response.headers.get('x-request-id'),
      );
    }
    return parsed as T;
  }
  return {
    get: (path) => call('GET', path),
    send: (method, path, body) => call(method, path, body),
  };
}

/** `?a=1&b=2` from the fields that are set. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * The role of a key: GET /v1/api-keys is for admins only, so 200 means admin and 403 means read.
 * Any other error (401 for a wrong key) is thrown for the sign-in form to show.
 */
export async function detectRole(api: Api): Promise<Role> {
  try {
    await api.get('/v1/api-keys');
    return 'admin';
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return 'read';
    throw error;
  }
}
