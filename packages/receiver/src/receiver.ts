import {
  type Clock,
  createGroupCommit,
  EnvelopeError,
  readEnvelope,
  systemClock,
  WebhookVerificationError,
} from '@herald/protocol';
import type { Registry } from 'prom-client';
import { expressHandler } from './adapters/express.js';
import { type FastifyRouteOptions, fastifyPlugin } from './adapters/fastify.js';
import { fetchHandler } from './adapters/fetch.js';
import { type AdapterContext, nodeHandler } from './adapters/node.js';
import type { Alert, FailureRateOptions } from './alerts.js';
import { hashBody, type ReceivedEvent } from './event.js';
import type { Inbox, InboxConflict, InboxEvent, InsertOutcome, ListQuery, NewInboxEvent } from './inbox/types.js';
import { consoleLogger, describeError, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { duration, func, instantOf, integer, OptionError } from './options.js';
import { createProcessor, defaultBackoff, type Handlers, type RetryOptions } from './processor.js';
import { answer, errorAnswer, type ReceiverRequest, type ReceiverResponse } from './response.js';
import { createVerifier, type ReceiverScheme } from './verify.js';
import { createWatchdog, type FallbackOptions, type PolledEvent, type StreamStart } from './watchdog.js';

export interface ReceiverOptions {
  /**
   * The endpoint's signing secret.
   * @example process.env.WEBHOOK_SECRET // 'whsec_…'
   */
  secret?: string;
  /**
   * Several secrets, any one of which may have signed a request: during a rotation, the new one and the old one.
   * @example [process.env.WEBHOOK_SECRET, process.env.WEBHOOK_SECRET_PREVIOUS]
   */
  secrets?: readonly string[];
  /**
   * The signature scheme the sender uses: Standard Webhooks (`webhook-signature`), or the plain
   * `hmac-sha256` (`x-herald-signature: sha256=<hex>`, which signs the body only).
   * @default 'standard-webhooks'
   */
  scheme?: ReceiverScheme;
  /**
   * How far `webhook-timestamp` may be from this machine's clock. Durations here are strings
   * (`'30s'`, `'5m'`); a number is seconds, as in stripe-node and svix (`300` is five minutes).
   * @default '5m'
   */
  tolerance?: string | number;
  /**
   * Where accepted webhooks are kept until they are processed, and their ids after that.
   * @example sqliteInbox('inbox.db') // or postgresInbox({ connectionString })
   */
  inbox: Inbox;
  /**
   * Handlers by event type; `'*'` takes every type without a handler of its own. An event with
   * no handler at all is marked processed.
   * @example { 'sync.completed': async (event, ctx) => {…}, '*': async (event) => {…} }
   */
  on: Handlers;
  /**
   * Per-key ordering: events of one key run one at a time, in exact `sequence` order per endpoint.
   * An event waits while a lower sequence of its endpoint has not arrived yet (whatever its key: it
   * may be one of this key), so late and out-of-order deliveries are never dropped; with `fallback`,
   * the watchdog fetches a gap that stays open past `gapGrace`. Events without a sequence (other
   * senders) are last-writer-wins by `occurred_at`: one older than the newest processed for its key
   * is marked `stale` and skipped; one without a readable time runs, with a warning.
   * Without `order`, events run in parallel in no promised order.
   * @default undefined
   * @example { key: (event) => event.connection_id }
   */
  order?: { key: (event: ReceivedEvent) => string | number | null | undefined };
  /**
   * Where a fresh inbox starts each endpoint's `sequence` stream, for ordering and polling:
   * `'first-seen'`, the lowest sequence that arrives within 10 s of the endpoint's first webhook
   * (at once when that is sequence 1), so its history is never replayed; `'beginning'`, sequence 1
   * (the watchdog fetches the whole history: needs `fallback.client`); or a time (a Date or an
   * ISO-8601 string): the first event that occurred at or after it (needs `fallback.client` with
   * its `endpointId`).
   * @default 'first-seen'
   * @example '2026-11-27T00:00:00Z'
   */
  startFrom?: 'first-seen' | 'beginning' | Date | string;
  /**
   * Handler retries. @default { attempts: 5, backoff: 1 s, 2 s, 4 s, … at most 5 min }
   * @example { attempts: 8 }
   */
  retry?: RetryOptions;
  /**
   * Handlers running at once in this process (events of different keys, or unordered events).
   * @default 8
   */
  concurrency?: number;
  /**
   * Polling the sender when webhooks stop coming or a `sequence` gap stays open.
   * @default undefined (no watchdog)
   * @example { silentAfter: '15m', client: heraldClient({ baseUrl, apiKey, endpointId }) }
   */
  fallback?: FallbackOptions;
  /**
   * Called on silence, on an event parked as dead, and when handlers fail at a rate over
   * `failureRate.threshold`. Errors it throws are logged.
   * @default logs the alert
   * @example (alert) => pagerduty.trigger(alert.message)
   */
  onAlert?: (alert: Alert) => void | Promise<void>;
  /** When `onAlert` fires for failing handlers. @default { threshold: 0.5, window: 20 } */
  failureRate?: FailureRateOptions;
  /**
   * How long processed ids are kept to recognise duplicates: longer than the sender retries
   * (Herald: 24 h). Dead and pending events are never pruned.
   * @default '7d'
   */
  retention?: string | number;
  /**
   * The largest body accepted; larger gets 413.
   * @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * How long a claimed event stays with its worker without a sign of life; a worker renews it every
   * third of it while the handler runs. After a crash, its events run again once it has passed.
   * @default '30s'
   */
  lease?: string | number;
  /**
   * How long `stop()` waits for running handlers. Handlers still running then are left behind: their
   * events are let go, to run again in another process or at the next start, and what they do
   * afterwards is not recorded. Keep it under the time your platform gives a stopping process
   * (Kubernetes: 30 s by default).
   * @default '10s'
   * @example stopTimeout: '25s'
   */
  stopTimeout?: string | number;
  /**
   * How often the processor looks for due events when nothing wakes it (retries coming due, events
   * inserted by another process).
   * @default '1s'
   */
  pollInterval?: string | number;
  /**
   * Prometheus metrics: a registry to register in (default: a new one, `receiver.metrics`) and a prefix.
   * @default { prefix: 'herald_receiver_' }
   */
  metrics?: { registry?: Registry; prefix?: string };
  /**
   * pino-compatible logger.
   * @default JSON lines on the console
   */
  logger?: Logger;
  /** The clock; tests move it. @default the system clock */
  clock?: Clock;
}

export interface Receiver {
  /** The route, framework-free: verify, insert durably, answer. */
  handle(request: ReceiverRequest): Promise<ReceiverResponse>;
  /** A node:http request listener. @example http.createServer(receiver.node()) */
  node(): ReturnType<typeof nodeHandler>;
  /** An Express handler; mount it before any body parser. @example app.post('/webhooks', receiver.express()) */
  express(): ReturnType<typeof expressHandler>;
  /** A Fastify plugin that adds the route. @example await app.register(receiver.fastify({ path: '/webhooks' })) */
  fastify(options?: FastifyRouteOptions): ReturnType<typeof fastifyPlugin>;
  /** Fetch API: Request in, Response out (Bun, Deno, workers, Hono, Next.js route handlers). */
  fetch(request: Request): Promise<Response>;
  /** Opens the inbox and starts processing (and the watchdog, with `fallback`). */
  start(): Promise<void>;
  /**
   * Stops taking events (webhooks then get 503 with retry-after), waits for running handlers for
   * at most `stopTimeout`, closes the inbox.
   */
  stop(): Promise<void>;
  /** The inbox, to look at: `list({ status: 'dead' })`, `get(id)`, `conflicts()`. */
  inbox: {
    list(query?: ListQuery): Promise<InboxEvent[]>;
    get(id: string): Promise<InboxEvent | null>;
    conflicts(limit?: number): Promise<InboxConflict[]>;
  };
  /**
   * Runs events again: by id (any status but pending), or every dead event received since a time.
   * Returns how many were made pending.
   * @example await receiver.replay({ status: 'dead', since: '2026-11-27T00:00:00Z' })
   */
  replay(target: string | readonly string[] | { status: 'dead'; since?: Date | string | number }): Promise<number>;
  /** The receiver's Prometheus registry. @example app.get('/metrics', async (_, res) => res.type('text/plain').send(await receiver.metrics.metrics())) */
  metrics: Registry;
  /** Runs the watchdog's check now (it also runs on its own timer). */
  checkSilence(): Promise<void>;
}

/**
 * How long a fresh endpoint stream waits for lower sequences before it starts at the lowest one
 * received: Herald sends up to 10 deliveries of an endpoint at once, and each either arrives or
 * times out within its 10 s attempt timeout.
 */
const FIRST_SEEN_SETTLE_MS = 10_000;
/**
 * Refused polled events remembered, so that each is logged once; bounded, so that a hostile feed
 * cannot grow it without end (past it, further refused events are skipped without a log line).
 */
const MAX_REFUSED_REMEMBERED = 10_000;

function readStart(value: ReceiverOptions['startFrom'], fallback: FallbackOptions | undefined): StreamStart {
  if (value === undefined || value === 'first-seen') return 'first-seen';
  if (value === 'beginning') {
    // Without a client, nothing would fetch the history that the first events wait for.
    if (fallback?.client === undefined) {
      throw new OptionError("createReceiver: startFrom 'beginning' needs fallback.client, to fetch the history.");
    }
    return value;
  }
  if (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new OptionError(
      `createReceiver: startFrom must be 'first-seen', 'beginning', a Date or an ISO-8601 time; got ${JSON.stringify(value)}.`,
    );
  }
  const at = instantOf('createReceiver: startFrom', value);
  if (fallback?.client?.endpointId === undefined) {
    throw new TypeError(
      'createReceiver: startFrom as a time needs fallback.client with its endpointId, to read the stream.',
    );
  }
  return { at };
}

/** A readable time as ISO-8601 UTC, so that the inbox compares times as instants; anything else as it came. */
function instant(text: string): string {
  const at = Date.parse(text);
  return Number.isNaN(at) ? text : new Date(at).toISOString();
}

/**
 * A webhook receiver: mount its route, give it handlers, start it.
 * @example
 * const receiver = createReceiver({ secret, inbox: sqliteInbox('inbox.db'), on: { '*': async (event) => {} } });
 * app.post('/webhooks', receiver.express());
 * await receiver.start();
 */
export function createReceiver(options: ReceiverOptions): Receiver {
  const secrets = options.secrets ?? (options.secret === undefined ? [] : [options.secret]);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger;
  const inbox = options.inbox;
  if (inbox === undefined) throw new TypeError('createReceiver: give an `inbox` (sqliteInbox or postgresInbox).');
  if (options.on === undefined || typeof options.on !== 'object') {
    throw new TypeError("createReceiver: give `on`, handlers by event type (e.g. { '*': async (event) => {} }).");
  }
  for (const [type, handler] of Object.entries(options.on)) {
    if (typeof handler !== 'function') throw new TypeError(`createReceiver: on['${type}'] is not a function.`);
  }
  const scheme = options.scheme ?? 'standard-webhooks';
  if (scheme !== 'standard-webhooks' && scheme !== 'hmac-sha256') {
    throw new OptionError(
      `createReceiver: scheme must be 'standard-webhooks' or 'hmac-sha256'; got ${JSON.stringify(scheme)}.`,
    );
  }
  const verify = createVerifier({
    secrets,
    scheme,
    toleranceSeconds: Math.round(duration('tolerance', options.tolerance, '5m') / 1000),
  });
  const maxBodyBytes = integer('maxBodyBytes', options.maxBodyBytes, 1024 * 1024);
  const retentionMs = duration('retention', options.retention, '7d', 1);
  const attempts = integer('retry.attempts', options.retry?.attempts, 5);
  func('retry.backoff', options.retry?.backoff);
  func('order.key', options.order?.key);
  if (options.order !== undefined && typeof options.order?.key !== 'function') {
    throw new OptionError('createReceiver: order.key must be a function, (event) => key.');
  }
  const concurrency = integer('concurrency', options.concurrency, 8);
  const leaseMs = duration('lease', options.lease, '30s', 1);
  const pollIntervalMs = duration('pollInterval', options.pollInterval, '1s', 1);
  const stopTimeoutMs = duration('stopTimeout', options.stopTimeout, '10s');
  const failureRate = options.failureRate ?? {};
  if (
    failureRate.threshold !== undefined &&
    !(typeof failureRate.threshold === 'number' && failureRate.threshold > 0 && failureRate.threshold <= 1)
  ) {
    throw new OptionError(`createReceiver: failureRate.threshold must be in (0, 1]; got ${failureRate.threshold}.`);
  }
  integer('failureRate.window', failureRate.window, 20);
  const metrics = createMetrics({
    registry: options.metrics?.registry,
    prefix: options.metrics?.prefix,
    inboxStats: () => inbox.stats(),
    now: () => clock.now(),
  });

  const onAlert = (alert: Alert): void => {
    logger.warn({ alert }, `herald receiver alert: ${alert.message}`);
    if (!options.onAlert) return;
    try {
      Promise.resolve(options.onAlert(alert)).catch((error: unknown) =>
        logger.error({ err: describeError(error) }, 'herald receiver: onAlert failed'),
      );
    } catch (error) {
      logger.error({ err: describeError(error) }, 'herald receiver: onAlert failed');
    }
  };

  let opening: Promise<void> | undefined;
  /** Set by stop(), until start(): nothing may open the inbox again meanwhile. */
  let stopped = false;
  const ready = () => {
    if (stopped)
      return Promise.reject(new Error('The receiver is stopped: call receiver.start() to open its inbox again.'));
    opening ??= inbox.open({ logger }).catch((error) => {
      opening = undefined;
      throw error;
    });
    return opening;
  };
  // The route's inserts share transactions (the group commit Herald's publishes use too, from
  // @herald/protocol). 64 per batch: a full batch is written at once, so under a burst of 200 the
  // first webhooks are answered after 64 verifications rather than 200 (p95 ~30 ms → ~8 ms on the
  // reference machine), and 64 per fsync keeps the throughput. One batch per route connection on
  // PostgreSQL. A failed batch is split down to the webhook at fault, unless the inbox is unreachable.
  const insert = createGroupCommit((events: NewInboxEvent[]) => inbox.insert(events), {
    maxBatch: 64,
    writers: inbox.insertWriters,
    splits: (error) => inbox.insertFault?.(error) !== 'unavailable',
  });

  const start = readStart(options.startFrom, options.fallback);
  const processor = createProcessor({
    inbox,
    handlers: options.on,
    retry: { attempts, backoff: options.retry?.backoff ?? defaultBackoff },
    concurrency,
    leaseMs,
    pollIntervalMs,
    stopTimeoutMs,
    clock,
    logger,
    metrics,
    onAlert,
    failureRate,
    // With a time, the watchdog settles the client's endpoint before processing starts; any other
    // endpoint starts as first seen.
    settle:
      start === 'beginning' ? { afterMs: 0, from: 'beginning' } : { afterMs: FIRST_SEEN_SETTLE_MS, from: 'lowest' },
  });

  /** The inbox row of a verified body; throws EnvelopeError. */
  function toInboxEvent(webhookId: string | undefined, body: string, source: 'webhook' | 'poll'): NewInboxEvent {
    const { envelope: event } = readEnvelope(body, { id: webhookId });
    const id = event.id;
    const key = options.order?.key(event);
    return {
      id,
      type: event.type,
      orderKey: key === null || key === undefined ? null : String(key),
      endpointId: event.endpoint_id,
      connectionId: event.connection_id,
      sequence: event.sequence,
      occurredAt: instant(event.occurred_at),
      body,
      bodyHash: hashBody(body),
      source,
      receivedAt: clock.now(),
    };
  }

  function count(event: NewInboxEvent, outcome: InsertOutcome): void {
    if (outcome === 'inserted') metrics.received.inc({ source: event.source });
    else if (outcome === 'duplicate') metrics.duplicates.inc();
    else {
      metrics.conflicts.inc();
      logger.warn(
        { eventId: event.id, source: event.source },
        'herald receiver: a different body came under a known id; kept aside as a conflict',
      );
    }
  }

  /** Polled events the inbox refused, so that each is logged once however often it is polled. */
  const refusedPolled = new Set<string>();
  const watchdog = options.fallback
    ? createWatchdog({
        fallback: options.fallback,
        inbox,
        clock,
        logger,
        metrics,
        onAlert,
        start,
        async store(polled: PolledEvent[]) {
          const events: NewInboxEvent[] = [];
          for (const p of polled) {
            const body = typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
            try {
              events.push(toInboxEvent(p.id, body, 'poll'));
            } catch (error) {
              logger.warn(
                { eventId: p.id, err: describeError(error) },
                'herald receiver: a polled event is unreadable',
              );
            }
          }
          // Each polled event settles on its own: one the inbox refuses (its row can never be stored)
          // is logged once and skipped, so it cannot keep the rest of the poll, and the pages after
          // it, out of the inbox on every check. An inbox that cannot be reached fails the poll,
          // which is tried again at the next check.
          const settled = await Promise.allSettled(events.map((e) => insert.submit(e)));
          const outcomes: InsertOutcome[] = [];
          let unavailable: unknown;
          for (const [i, s] of settled.entries()) {
            const e = events[i]!;
            if (s.status === 'fulfilled') {
              count(e, s.value);
              outcomes.push(s.value);
            } else if (inbox.insertFault?.(s.reason) === 'refused') {
              if (refusedPolled.size < MAX_REFUSED_REMEMBERED && !refusedPolled.has(e.id)) {
                refusedPolled.add(e.id);
                metrics.rejected.inc({ reason: 'invalid_body' });
                logger.error(
                  { eventId: e.id, inbox: inbox.where, err: describeError(s.reason) },
                  'herald receiver: the inbox cannot store a polled event; it is skipped (logged once)',
                );
              }
            } else unavailable ??= s.reason;
          }
          if (outcomes.length > 0) processor.wake();
          if (unavailable !== undefined) throw unavailable;
          return outcomes;
        },
      })
    : undefined;

  async function handle(request: ReceiverRequest): Promise<ReceiverResponse> {
    const raw =
      typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    if (raw.byteLength > maxBodyBytes) {
      metrics.rejected.inc({ reason: 'payload_too_large' });
      return errorAnswer(413, 'payload_too_large', `The body is larger than ${maxBodyBytes} bytes.`);
    }
    let webhookId: string | undefined;
    try {
      ({ webhookId } = verify(request.headers, raw, Math.floor(clock.now() / 1000)));
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      metrics.rejected.inc({ reason: error.reason });
      return errorAnswer(401, error.reason, error.message);
    }
    let event: NewInboxEvent;
    try {
      const body = raw.toString('utf8');
      event = toInboxEvent(options.scheme === 'hmac-sha256' ? undefined : webhookId, body, 'webhook');
      if (webhookId !== undefined && event.id !== webhookId) {
        metrics.rejected.inc({ reason: 'id_mismatch' });
        return errorAnswer(400, 'id_mismatch', 'The webhook-id header differs from the signed body\'s "id".');
      }
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      metrics.rejected.inc({ reason: 'invalid_body' });
      return errorAnswer(400, 'invalid_body', error.message);
    }
    if (stopped) {
      return errorAnswer(503, 'inbox_unavailable', 'The receiver is stopped; retry later.', { 'retry-after': '5' });
    }
    let outcome: InsertOutcome;
    try {
      await ready();
      outcome = await insert.submit(event);
    } catch (error) {
      if (inbox.insertFault?.(error) === 'refused') {
        // Alone in its batch by now (the group commit splits a failed one): this webhook's own row
        // is refused, and will be on every retry, so it is the body's fault.
        metrics.rejected.inc({ reason: 'invalid_body' });
        logger.warn(
          { eventId: event.id, inbox: inbox.where, err: describeError(error) },
          'herald receiver: the inbox cannot store a webhook',
        );
        const why = error instanceof Error ? error.message : String(error);
        return errorAnswer(400, 'invalid_body', `The inbox cannot store this webhook: ${why}`);
      }
      logger.error(
        { eventId: event.id, inbox: inbox.where, err: describeError(error) },
        'herald receiver: the inbox refused a write',
      );
      return errorAnswer(503, 'inbox_unavailable', 'The inbox is unavailable; retry later.', { 'retry-after': '5' });
    }
    count(event, outcome);
    if (outcome !== 'conflict') watchdog?.observe(event, 'webhook');
    if (outcome === 'inserted') processor.wake();
    return answer(200, { received: true, id: event.id, outcome });
  }

  let pruneTimer: NodeJS.Timeout | undefined;
  const prune = async () => {
    try {
      const removed = await inbox.prune(clock.now() - retentionMs);
      if (removed > 0) logger.info({ removed }, 'herald receiver: pruned old processed events');
    } catch (error) {
      logger.error({ err: describeError(error) }, 'herald receiver: pruning the inbox failed');
    }
  };

  const adapter: AdapterContext = { handle, maxBodyBytes, logger };
  let started = false;
  const receiver: Receiver = {
    handle,
    node: () => nodeHandler(adapter),
    express: () => expressHandler(adapter),
    fastify: (routeOptions) => fastifyPlugin(adapter, routeOptions),
    fetch: fetchHandler(adapter),
    async start() {
      if (started) return;
      stopped = false;
      await ready();
      // stop() came while the inbox was opening (its switch to WAL can wait seconds for another
      // process): it closed the inbox once the open ended, so nothing more starts.
      if (stopped) throw new Error('The receiver was stopped while it was starting.');
      started = true;
      await prune();
      pruneTimer = setInterval(prune, Math.min(3_600_000, retentionMs));
      pruneTimer.unref();
      await watchdog?.start();
      processor.start();
    },
    async stop() {
      stopped = true;
      clearInterval(pruneTimer);
      await watchdog?.stop();
      await processor.stop();
      await insert.drain();
      started = false;
      // An open still under way is let finish first: closed before it ends, the inbox would be
      // opened again behind stop()'s back and hold its file.
      const pending = opening;
      opening = undefined;
      await pending?.catch(() => {});
      await inbox.close();
    },
    inbox: {
      list: (query) => ready().then(() => inbox.list(query)),
      get: (id) => ready().then(() => inbox.get(id)),
      conflicts: (limit) => ready().then(() => inbox.conflicts(limit)),
    },
    async replay(target) {
      await ready();
      const normalized =
        typeof target === 'object' && !Array.isArray(target) && 'status' in target
          ? {
              status: 'dead' as const,
              since: target.since === undefined ? undefined : instantOf('replay: since', target.since),
            }
          : (target as string | readonly string[]);
      const count = await inbox.replay(normalized, clock.now());
      logger.info({ count }, 'herald receiver: events replayed');
      processor.wake();
      return count;
    },
    metrics: metrics.registry,
    checkSilence: async () => {
      await watchdog?.check();
    },
  };
  return receiver;
}
