import { errorFromResponse, HeraldError } from './errors.js';
import { DEFAULT_RETRY, type RetryPolicy, repeatable, retryDelayMs, sleep } from './retry.js';

/** Options every call takes. */
export interface CallOptions {
  /** Cancels the call, its retries and the waits between them. */
  signal?: AbortSignal;
  /** Each try's time limit, ms (default: the client's `timeoutMs`). */
  timeoutMs?: number;
}

export interface TransportOptions {
  /** Herald's base URL, e.g. `http://localhost:8080`; `''` in a browser: the page's own origin. */
  url: string;
  apiKey: string;
  /** Each try's time limit, ms. Default 30 000. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Told of each retry before its wait, e.g. to log it. */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Told of every call that ends in a HeraldError, after its retries: e.g. a 401 signs the
   * dashboard out. What it throws is ignored; the call rejects with the HeraldError anyway.
   */
  onError?: (error: HeraldError) => void;
  /** Another fetch (a test's, a proxy agent's). Default: the global fetch. */
  fetch?: typeof fetch;
}

export interface RetryInfo {
  method: string;
  path: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  error: HeraldError;
}

export interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  idempotencyKey?: string | undefined;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

export type Transport = <T>(request: Request, options?: CallOptions) => Promise<Answer<T>>;

/** A connection that was refused never carried the request: safe to send again whatever it was. */
function refused(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}

function queryString(query: Request['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export function createTransport(options: TransportOptions): Transport {
  const base = options.url.replace(/\/+$/, '');
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  /** One try: the answer, or a HeraldError (and whether sending it again is safe). */
  async function once<T>(request: Request, call: CallOptions): Promise<Answer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    const limit = call.timeoutMs ?? timeoutMs;
    const timeout = AbortSignal.timeout(limit);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await doFetch(base + request.path + queryString(request.query), {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (call.signal?.aborted) throw call.signal.reason;
      if (timeout.aborted) {
        throw new HeraldError(0, 'TIMEOUT', 'connection_error', `No answer within ${limit} ms.`, null, null, {
          cause: error,
        });
      }
      const reason = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      const where = base === '' ? 'Herald' : base;
      throw new HeraldError(0, 'NETWORK_ERROR', 'connection_error', `Could not reach ${where}: ${reason}`, null, null, {
        cause: error,
      });
    }
    if (!response.ok) throw errorFromResponse(response.status, response.headers, text);
    return {
      status: response.status,
      headers: response.headers,
      body: (text === '' ? undefined : JSON.parse(text)) as T,
    };
  }

  /** `once`, again while it is safe and useful (retry.ts). */
  async function withRetries<T>(request: Request, call: CallOptions): Promise<Answer<T>> {
    for (let retry = 1; ; retry++) {
      try {
        return await once<T>(request, call);
      } catch (error) {
        if (!(error instanceof HeraldError) || retry > policy.maxRetries) throw error;
        const again =
          error.status === 429 ||
          error.status === 503 ||
          (error.status === 0 &&
            (repeatable(request.method, request.idempotencyKey !== undefined) || refused(error.cause)));
        if (!again) throw error;
        if (error.retryAfterSeconds !== null && error.retryAfterSeconds * 1000 > policy.maxDelayMs) throw error;
        const delayMs = retryDelayMs(policy, retry, error.retryAfterSeconds);
        options.onRetry?.({ method: request.method, path: request.path, retry, delayMs, error });
        await sleep(delayMs, call.signal);
      }
    }
  }

  return async function send<T>(request: Request, call: CallOptions = {}): Promise<Answer<T>> {
    try {
      return await withRetries<T>(request, call);
    } catch (error) {
      if (error instanceof HeraldError) {
        try {
          options.onError?.(error);
        } catch {
          // A listener's own failure must not replace the error the caller is waiting for.
        }
      }
      throw error;
    }
  };
}
