import type { Clock } from '@herald/protocol';
import { parseDuration, serializeEnvelope } from '@herald/protocol';
import type { Alert } from './alerts.js';
import type { HeraldClient, SyncStatus } from './client.js';
import type { Inbox, InsertOutcome } from './inbox/types.js';
import { describeError, type Logger } from './log.js';
import type { ReceiverMetrics } from './metrics.js';

/** One event a poll found: its id and its body (JSON text, or a value to serialise). */
export interface PolledEvent {
  id: string;
  body: string | Record<string, unknown>;
}

/**
 * Polling for a sender other than Herald: return what came after `cursor` (null the first time) and
 * the cursor to continue from. Called until it returns no events.
 * @example poll: async (cursor) => { const r = await api.list({ after: cursor }); return { events: r.items.map((e) => ({ id: e.id, body: e })), cursor: r.cursor } }
 */
export type PollFunction = (cursor: string | null) => Promise<{ events: PolledEvent[]; cursor: string | null }>;

export interface FallbackOptions {
  /**
   * When no webhook has come for this long, the watchdog polls the sender.
   * @example '15m'
   */
  silentAfter: string | number;
  /**
   * Herald's API (a read key is enough). Give this or `poll`.
   * @example heraldClient({ baseUrl, apiKey, endpointId })
   */
  client?: HeraldClient;
  /** For other senders: fetches what came after a cursor. Give this or `client`. */
  poll?: PollFunction;
  /**
   * How long a gap in an endpoint's `sequence` may stay open before the watchdog fetches the
   * missing events (a retry of the missing delivery usually fills it first).
   * @default '1m'
   */
  gapGrace?: string | number;
  /**
   * While silence lasts, how often to poll again.
   * @default '1m'
   */
  pollInterval?: string | number;
  /**
   * How often the watchdog looks at the time, ms.
   * @default a tenth of the smaller of silentAfter and gapGrace, between 10 ms and 30 s
   */
  checkInterval?: string | number;
}

interface Stream {
  /** Every sequence up to this one is in the inbox. */
  contiguous: number;
  /** Sequences seen beyond `contiguous + 1`. */
  above: Set<number>;
  /** When the oldest open gap was noticed (ms), or null. */
  gapSince: number | null;
}

export interface WatchdogOptions {
  fallback: FallbackOptions;
  inbox: Inbox;
  /** Puts polled events into the inbox exactly as the route does. */
  store: (events: PolledEvent[]) => Promise<InsertOutcome[]>;
  clock: Clock;
  logger: Logger;
  metrics: ReceiverMetrics;
  onAlert: (alert: Alert) => void;
}

const PAGE = 100;
const MAX_PAGES = 100;
const STREAM_CURSOR = 'stream:';
const POLL_CURSOR = 'poll';

/**
 * Notices silence and sequence gaps, and fills them by polling the sender into the same inbox,
 * where duplicates fall away. It watches the webhooks of the process it runs in: run it (that is,
 * configure `fallback`) where the route is mounted.
 */
export function createWatchdog(options: WatchdogOptions) {
  const { fallback, clock, logger, metrics } = options;
  if (!fallback.client && !fallback.poll) throw new TypeError('fallback: give `client` (heraldClient) or `poll`.');
  const silentAfter = parseDuration(fallback.silentAfter);
  const gapGrace = parseDuration(fallback.gapGrace ?? '1m');
  const pollInterval = parseDuration(fallback.pollInterval ?? '1m');
  const checkInterval =
    fallback.checkInterval === undefined
      ? Math.min(30_000, Math.max(10, Math.min(silentAfter, gapGrace) / 10))
      : parseDuration(fallback.checkInterval);

  const streams = new Map<string, Stream>();
  const connections = new Set<string>();
  let pollCursor: string | null = null;
  let lastWebhookAt = clock.now();
  let lastSilencePollAt: number | null = null;
  let silenceAlerted = false;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;

  function stream(endpointId: string): Stream {
    let s = streams.get(endpointId);
    if (s === undefined) {
      s = { contiguous: 0, above: new Set(), gapSince: null };
      streams.set(endpointId, s);
    }
    return s;
  }

  function observeSequence(endpointId: string, sequence: number): void {
    if (endpointId === '' || sequence <= 0) return;
    const s = stream(endpointId);
    if (sequence <= s.contiguous) return;
    if (sequence === s.contiguous + 1) {
      s.contiguous = sequence;
      while (s.above.delete(s.contiguous + 1)) s.contiguous++;
      dirty = true;
    } else {
      s.above.add(sequence);
    }
    if (s.above.size === 0) s.gapSince = null;
    else s.gapSince ??= clock.now();
  }

  async function storePolled(events: PolledEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const outcomes = await options.store(events);
    const recovered = outcomes.filter((o) => o === 'inserted').length;
    if (recovered > 0) {
      metrics.recovered.inc(recovered);
      logger.warn({ recovered }, 'herald receiver: polling found events that no webhook brought');
    }
    return recovered;
  }

  async function pollEndpoint(client: HeraldClient, endpointId: string): Promise<number> {
    let after = streams.get(endpointId)?.contiguous ?? 0;
    let recovered = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.endpointEvents(endpointId, after, PAGE);
      if (result.data.length === 0) break;
      recovered += await storePolled(result.data.map((e) => ({ id: e.id, body: serializeEnvelope(e) })));
      for (const e of result.data) {
        if (e.connection_id) connections.add(e.connection_id);
        observeSequence(e.endpoint_id || endpointId, e.sequence);
      }
      const next = Number(result.next_cursor ?? result.data.at(-1)?.sequence);
      if (!Number.isFinite(next) || next <= after || result.data.length < PAGE) break;
      after = next;
    }
    return recovered;
  }

  async function pollCustom(poll: PollFunction): Promise<number> {
    let recovered = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await poll(pollCursor);
      recovered += await storePolled(result.events);
      if (result.cursor !== pollCursor) dirty = true;
      const moved = result.cursor !== pollCursor;
      pollCursor = result.cursor;
      if (result.events.length === 0 || !moved) break;
    }
    return recovered;
  }

  async function readSyncStatus(client: HeraldClient): Promise<SyncStatus[]> {
    const statuses: SyncStatus[] = [];
    for (const id of connections) {
      try {
        statuses.push(await client.syncStatus(id));
      } catch (error) {
        logger.warn({ connectionId: id, err: describeError(error) }, 'herald receiver: reading sync status failed');
      }
    }
    return statuses;
  }

  async function runCheck(): Promise<void> {
    const now = clock.now();
    const client = fallback.client;
    const silent = now - lastWebhookAt >= silentAfter;
    if (silent && (lastSilencePollAt === null || now - lastSilencePollAt >= pollInterval)) {
      lastSilencePollAt = now;
      const syncStatus = client ? await readSyncStatus(client) : [];
      if (!silenceAlerted) {
        silenceAlerted = true;
        options.onAlert({
          kind: 'silence',
          message: `No webhook for ${Math.round((now - lastWebhookAt) / 1000)} s; polling the sender.`,
          lastWebhookAt,
          syncStatus,
        });
      }
      if (client) {
        const endpoints = new Set(streams.keys());
        if (client.endpointId) endpoints.add(client.endpointId);
        for (const endpointId of endpoints) await pollEndpoint(client, endpointId);
      }
      if (fallback.poll) await pollCustom(fallback.poll);
    }
    if (client) {
      for (const [endpointId, s] of streams) {
        if (s.gapSince !== null && now - s.gapSince >= gapGrace) {
          logger.warn(
            { endpointId, after: s.contiguous, missingBefore: Math.min(...s.above) },
            'herald receiver: a sequence gap stayed open; fetching the missing events',
          );
          await pollEndpoint(client, endpointId);
          // Still open (the sender does not have them yet)? Look again after another grace period.
          if (s.gapSince !== null) s.gapSince = now;
        }
      }
    }
    if (dirty) {
      dirty = false;
      const values: Record<string, string> = {};
      for (const [endpointId, s] of streams) values[STREAM_CURSOR + endpointId] = String(s.contiguous);
      if (pollCursor !== null) values[POLL_CURSOR] = pollCursor;
      await options.inbox.saveCursors(values);
    }
  }

  return {
    /** Called by the route for every verified webhook, new or duplicate. */
    observe(event: { endpointId: string; sequence: number; connectionId: string | null }, source: 'webhook' | 'poll') {
      if (source === 'webhook') {
        lastWebhookAt = clock.now();
        lastSilencePollAt = null;
        silenceAlerted = false;
      }
      if (event.connectionId) connections.add(event.connectionId);
      observeSequence(event.endpointId, event.sequence);
    },
    /** Looks at the time once: polls if silent or a gap is overdue. */
    check(): Promise<void> {
      checking ??= runCheck()
        .catch((error) => {
          logger.error({ err: describeError(error) }, 'herald receiver: the watchdog could not poll the sender');
        })
        .finally(() => {
          checking = undefined;
        });
      return checking;
    },
    async start(): Promise<void> {
      const saved = await options.inbox.cursors();
      for (const [name, value] of Object.entries(saved)) {
        if (name.startsWith(STREAM_CURSOR)) {
          const s = stream(name.slice(STREAM_CURSOR.length));
          s.contiguous = Math.max(s.contiguous, Number(value));
          for (const n of [...s.above]) if (n <= s.contiguous) s.above.delete(n);
          while (s.above.delete(s.contiguous + 1)) s.contiguous++;
          if (s.above.size === 0) s.gapSince = null;
        } else if (name === POLL_CURSOR) {
          pollCursor = value;
        }
      }
      lastWebhookAt = Math.max(lastWebhookAt, clock.now());
      timer = setInterval(() => void this.check(), checkInterval);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await checking;
    },
  };
}

export type Watchdog = ReturnType<typeof createWatchdog>;
