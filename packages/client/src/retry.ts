/**
 * When a failed request may be sent again, and after how long. Safe to repeat: any request the
 * server answered 429 or 503 (it did nothing), and on a network error or a timeout a request that
 * cannot act twice — a GET, PATCH or DELETE, or one carrying an Idempotency-Key — or any request
 * whose connection was refused (it never left).
 */

export interface RetryPolicy {
  /** Retries after the first try; 0 turns retrying off. */
  maxRetries: number;
  /** The first backoff; each next one doubles. */
  baseDelayMs: number;
  /** The longest backoff; also the longest retry-after honoured: a longer one is thrown to the caller. */
  maxDelayMs: number;
}

/**
 * 4 retries of 0.5, 1, 2 and 4 s (each between half and all of that, jittered) wait 5.6 s in all
 * on average: long enough to ride over a server restart (`herald serve` on SQLite listens again
 * within about a second here), short enough that a caller facing a real outage hears of it soon.
 * A retry-after up to 30 s is honoured (a 429 asks for 1 s at the default rate limit, the store's
 * 503 for 5 s); a longer one (a manual retry sent to `herald api` asks for 60 s) is thrown.
 */
export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function repeatable(method: string, hasIdempotencyKey: boolean): boolean {
  return hasIdempotencyKey || IDEMPOTENT_METHODS.has(method);
}

/**
 * The wait before retry number `retry` (1-based): the server's retry-after when it gave one (plus
 * up to 10% jitter so a flood of clients told "1 s" does not come back in one burst), otherwise
 * a capped exponential backoff, half of it fixed and half random ("equal jitter": never near 0).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  retryAfterSeconds: number | null,
  random = Math.random,
): number {
  if (retryAfterSeconds !== null) {
    const ms = retryAfterSeconds * 1000;
    return ms + random() * Math.max(100, ms * 0.1);
  }
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return cap / 2 + random() * (cap / 2);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
