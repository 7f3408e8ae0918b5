import { performance } from 'node:perf_hooks';
import { parseRetryAfter } from '@herald/protocol';
import { Agent, type Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { AttemptError, AttemptRecord, ClaimedDelivery, EndpointRecord } from '../store/types.js';
import { guardedConnector } from './guarded-connect.js';
import { buildWebhookRequest } from './webhook-request.js';

/**
 * One attempt: one signed POST with undici, and everything the attempt log keeps about it.
 * Never throws: every failure becomes an error class.
 */

/** The part of a response body that is kept (4 KiB). */
export const RESPONSE_BODY_LIMIT = 4096;
/**
 * Past the kept part, up to this much more is read and dropped so the connection can be reused;
 * a longer body is cut off by closing the connection.
 */
const DRAIN_LIMIT = 64 * 1024;

/** What the attempt log keeps of an attempt (`error` null: a 2xx answer within the timeout), and its retry-after. */
export interface SentAttempt
  extends Pick<
    AttemptRecord,
    'startedAt' | 'durationMs' | 'requestHeaders' | 'responseStatus' | 'responseHeaders' | 'responseBody' | 'error'
  > {
  /** The answer's `retry-after`, ms, when it had a readable one. */
  retryAfterMs: number | undefined;
}

export interface Sender {
  send(claimed: ClaimedDelivery): Promise<SentAttempt>;
  close(): Promise<void>;
}

type SenderConfig = Pick<Config, 'attemptTimeoutMs' | 'allowPrivateNetworks' | 'clock'>;

export function createSender(config: SenderConfig): Sender {
  // One keep-alive pool for every endpoint. Its per-origin connection count is left unlimited on
  // purpose: the dispatcher already caps requests per endpoint (and in total), and several endpoints
  // often share one host; a per-origin cap of endpointConcurrency let a slow endpoint's requests take
  // every connection to its host and hold back a fast endpoint there (dispatch-concurrency.test.ts).
  // undici 7 follows no redirects unless a redirect interceptor is composed in, and none is: a 3xx is
  // a failed attempt (http_status).
  const agent = new Agent({
    connections: null,
    pipelining: 1,
    headersTimeout: config.attemptTimeoutMs,
    bodyTimeout: config.attemptTimeoutMs,
    connect: config.allowPrivateNetworks
      ? { timeout: config.attemptTimeoutMs }
      : guardedConnector({ timeout: config.attemptTimeoutMs }),
  });

  const deadlines = new Deadlines();

  async function send(claimed: ClaimedDelivery): Promise<SentAttempt> {
    const startedAt = config.clock.now();
    const began = performance.now();
    const attempt: SentAttempt = {
      startedAt,
      durationMs: 0,
      requestHeaders: {},
      responseStatus: null,
      responseHeaders: null,
      responseBody: null,
      error: null,
      retryAfterMs: undefined,
    };
    // One deadline for the whole attempt (connect, headers and body): 2xx within 10 s or it failed.
    const deadline = deadlines.add(began + config.attemptTimeoutMs);
    try {
      // Inside the try: a row the API would have refused (a URL that does not parse, a bad secret)
      // fails this attempt instead of wedging the endpoint's queue.
      const request = buildWebhookRequest(claimed, startedAt);
      attempt.requestHeaders = request.loggedHeaders;
      const target = targetOf(claimed.endpoint);
      await post(
        agent,
        { origin: target.origin, path: target.path, method: 'POST', headers: request.headers, body: request.body },
        deadline,
        attempt,
      );
    } catch (error) {
      // Once the status line is in, the answer stands: a body that then breaks or runs past the
      // deadline does not turn a 2xx into a failure (the receiver has the webhook) or a 500 into a timeout.
      if (attempt.responseStatus === null) attempt.error = deadline.aborted ? 'timeout' : classifyError(error);
    } finally {
      deadline.end();
      attempt.durationMs = Math.round(performance.now() - began);
    }
    return attempt;
  }

  return {
    send,
    close: () => agent.close(),
  };
}

/**
 * One attempt's deadline: one 'abort' listener (post() aborts the request from it), far cheaper
 * than an AbortController and a timer for every attempt.
 */
class Deadline {
  aborted = false;
  reason: Error | undefined = undefined;
  /** The attempt ended: nothing to abort any more. */
  done = false;
  private listener: (() => void) | null = null;

  constructor(readonly at: number) {}

  once(_event: 'abort', listener: () => void): this {
    this.listener = listener;
    return this;
  }
  end(): void {
    this.done = true;
    this.listener = null;
  }

  abort(): void {
    if (this.aborted || this.done) return;
    this.aborted = true;
    this.reason = Object.assign(new Error('The attempt ran past its deadline.'), {
      name: 'AbortError',
      code: 'ABORT_ERR',
    });
    const listener = this.listener;
    this.listener = null;
    listener?.();
  }
}

/**
 * Every attempt's deadline on ONE timer. The timeout is the same for every attempt, so deadlines
 * are added in order: the timer waits for the oldest one still running, aborts every attempt past
 * its deadline when it fires, and skips the attempts that ended meanwhile (most of them).
 */
class Deadlines {
  private queue: Deadline[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  add(at: number): Deadline {
    // Ended attempts at the front are dropped now, not when the timer fires: what is kept is about
    // what is in flight.
    this.skipEnded();
    const deadline = new Deadline(at);
    this.queue.push(deadline);
    if (this.timer === null) this.arm();
    return deadline;
  }

  private skipEnded(): void {
    while (this.head < this.queue.length && (this.queue[this.head] as Deadline).done) this.head++;
    if (this.head >= 256 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private arm(): void {
    this.skipEnded();
    const next = this.queue[this.head];
    if (next === undefined) {
      this.queue = [];
      this.head = 0;
      this.timer = null;
      return;
    }
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(next.at - performance.now())));
    // An attempt in flight keeps the process alive by its socket, not by this timer.
    this.timer.unref();
  }

  private fire(): void {
    const now = performance.now();
    while (this.head < this.queue.length) {
      const deadline = this.queue[this.head] as Deadline;
      if (!deadline.done && deadline.at > now) break;
      this.head++;
      deadline.abort();
    }
    this.arm();
  }
}

/** An endpoint record's URL, parsed once per record (a claim shares one record among its deliveries). */
const targets = new WeakMap<EndpointRecord, { origin: string; path: string }>();
function targetOf(endpoint: EndpointRecord): { origin: string; path: string } {
  let target = targets.get(endpoint);
  if (target === undefined) {
    const url = new URL(endpoint.url);
    target = { origin: url.origin, path: `${url.pathname}${url.search}` };
    targets.set(endpoint, target);
  }
  return target;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * Sends the request through undici's dispatch interface, filling in the attempt's status, headers
 * and first 4 KiB of body as they come: no response stream is made for a body of a few bytes
 * (undici's request() builds one per response). Past the kept part, up to DRAIN_LIMIT more is read
 * and dropped so the connection can be reused; a longer body is cut off by aborting, which closes
 * the connection. Rejects with the transport's error, or the deadline's.
 */
function post(
  agent: Agent,
  options: Dispatcher.DispatchOptions,
  deadline: Deadline,
  attempt: SentAttempt,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let readBytes = 0;
    const keepBody = () => {
      attempt.responseBody = utf8.decode(kept.length === 1 ? (kept[0] as Buffer) : Buffer.concat(kept));
    };
    agent.dispatch(options, {
      onRequestStart(controller) {
        if (deadline.aborted) controller.abort(deadline.reason as Error);
        else deadline.once('abort', () => controller.abort(deadline.reason as Error));
      },
      onResponseStart(_controller, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: informational, the answer is still to come
        attempt.responseStatus = statusCode;
        attempt.responseHeaders = flattenHeaders(headers);
        attempt.retryAfterMs = parseRetryAfter(attempt.responseHeaders['retry-after'], attempt.startedAt);
        if (statusCode > 299) attempt.error = 'http_status';
      },
      onResponseData(controller, chunk) {
        if (keptBytes < RESPONSE_BODY_LIMIT) {
          const part = chunk.subarray(0, RESPONSE_BODY_LIMIT - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        readBytes += chunk.length;
        if (readBytes > RESPONSE_BODY_LIMIT + DRAIN_LIMIT && !controller.aborted) {
          keepBody();
          controller.abort(new Error('The response body is longer than Herald reads; the connection was closed.'));
        }
      },
      onResponseEnd() {
        keepBody();
        resolve();
      },
      onResponseError(_controller, error) {
        if (attempt.responseStatus !== null && attempt.responseBody === null) keepBody();
        reject(error);
      },
    });
  });
}

/** Stateless when not streaming: one for every attempt. */
const utf8 = new TextDecoder();

const CODES: Array<[RegExp, AttemptError]> = [
  [/^HERALD_BLOCKED_ADDRESS$/, 'blocked'],
  [/^(UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|UND_ERR_CONNECT_TIMEOUT|ETIMEDOUT|ABORT_ERR)$/, 'timeout'],
  [/^ECONNREFUSED$/, 'refused'],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|EAI_NODATA)$/, 'dns'],
  [/^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_OSSL_)/, 'tls'],
  [/^(ECONNRESET|EPIPE|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|UND_ERR_SOCKET|UND_ERR_CLOSED)/, 'reset'],
];

/**
 * The error class of a failed request. undici wraps the socket's error in `cause`, so the chain is
 * searched. An error nothing names (rare: a URL that no longer parses, say) counts as `reset`:
 * the connection did not carry the request.
 */
export function classifyError(error: unknown): AttemptError {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const { code, cause, errors } = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') {
      for (const [pattern, kind] of CODES) if (pattern.test(code)) return kind;
    }
    // Node's happy-eyeballs connect fails with an AggregateError of one error per address tried.
    if (Array.isArray(errors) && errors.length > 0) return classifyError(errors[0]);
    current = cause;
  }
  return 'reset';
}
