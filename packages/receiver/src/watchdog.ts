import type { Clock } from '@herald/protocol';
import { serializeEnvelope } from '@herald/protocol';
import type { Alert } from './alerts.js';
import type { HeraldClient, SyncStatus } from './client.js';
import type { Inbox, InsertOutcome } from './inbox/types.js';
import { describeError, type Logger } from './log.js';
import type { ReceiverMetrics } from './metrics.js';
import { duration, OptionError } from './options.js';

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
   * How often the watchdog looks at the time (a number is seconds, as for every duration).
   * @default a tenth of the smaller of silentAfter and gapGrace, between 10 ms and 30 s
   */
  checkInterval?: string | number;
}

/**
 * Where a fresh inbox starts an endpoint's stream: at the lowest sequence it receives (the first
 * it sees), at sequence 1, or at the first event that occurred at or after a time (ms).
 */
export type StreamStart = 'first-seen' | 'beginning' | { at: number };

export interface WatchdogOptions {
  fallback: FallbackOptions;
  inbox: Inbox;
  /** Puts polled events into the inbox exactly as the route does. */
  store: (events: PolledEvent[]) => Promise<InsertOutcome[]>;
  clock: Clock;
  logger: Logger;
  metrics: ReceiverMetrics;
  onAlert: (alert: Alert) => void;
  start: StreamStart;
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
  if (fallback.silentAfter === undefined) throw new OptionError('createReceiver: fallback.silentAfter is required.');
  const silentAfter = duration('fallback.silentAfter', fallback.silentAfter, '', 1);
  const gapGrace = duration('fallback.gapGrace', fallback.gapGrace, '1m');
  const pollInterval = duration('fallback.pollInterval', fallback.pollInterval, '1m', 1);
  const checkInterval =
    fallback.checkInterval === undefined
      ? Math.min(30_000, Math.max(10, Math.min(silentAfter, gapGrace) / 10))
      : duration('fallback.checkInterval', fallback.checkInterval, '', 1);

  const connections = new Set<string>();
  /** Connections whose sync status could not be read: warned about once, not on every poll. */
  const unreadable = new Set<string>();
  /** Open gaps: the stream's contiguous when the gap was noticed, and when. */
  const gaps = new Map<string, { contiguous: number; since: number }>();
  let pollCursor: string | null = null;
  let startSettled = options.start === 'first-seen';
  let lastWebhookAt = clock.now();
  let lastSilencePollAt: number | null = null;
  let silenceAlerted = false;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;

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

  /** Reads an endpoint's stream after a sequence into the inbox. */
  async function pollEndpoint(client: HeraldClient, endpointId: string, from: number): Promise<number> {
    let after = from;
    let recovered = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.endpointEvents(endpointId, after, PAGE);
      if (result.data.length === 0) break;
      recovered += await storePolled(result.data.map((e) => ({ id: e.id, body: serializeEnvelope(e) })));
      for (const e of result.data) if (e.connection_id) connections.add(e.connection_id);
      const next = Number(result.next_cursor ?? result.data.at(-1)?.sequence);
      if (!Number.isFinite(next) || next <= after || result.data.length < PAGE) break;
      after = next;
    }
    return recovered;
  }

  /**
   * Settles the start of the client's endpoint when told where it is: the beginning, or the last
   * sequence before a time (read from the stream). 'first-seen' is settled by the inbox itself.
   */
  async function settleStart(client: HeraldClient | undefined): Promise<void> {
    if (startSettled) return;
    const endpointId = client?.endpointId;
    if (client === undefined || endpointId === undefined) {
      startSettled = true;
      return;
    }
    const known = (await options.inbox.streams()).find((s) => s.endpointId === endpointId);
    if (known?.contiguous != null) {
      startSettled = true;
      return;
    }
    let base = 0;
    const start = options.start;
    if (typeof start === 'object') {
      let after = 0;
      scan: for (let page = 0; page < MAX_PAGES; page++) {
        const result = await client.endpointEvents(endpointId, after, PAGE);
        for (const e of result.data) {
          const at = Date.parse(e.occurred_at);
          if (!Number.isNaN(at) && at >= start.at) break scan;
          base = e.sequence;
        }
        if (result.data.length < PAGE) break;
        after = base;
      }
    }
    await options.inbox.openStream(endpointId, base);
    logger.info({ endpointId, after: base }, "herald receiver: the endpoint's stream starts after this sequence");
    startSettled = true;
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
        unreadable.delete(id);
      } catch (error) {
        if (unreadable.has(id)) continue;
        unreadable.add(id);
        logger.warn(
          { connectionId: id, err: describeError(error) },
          'herald receiver: reading sync status failed (not repeated for this connection until it succeeds)',
        );
      }
    }
    return statuses;
  }

  async function runCheck(): Promise<void> {
    const now = clock.now();
    const client = fallback.client;
    await settleStart(client);
    const streams = client ? (await options.inbox.streams()).filter((s) => s.contiguous !== null) : [];
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
      // Only streams whose start is known: a fresh inbox does not replay an endpoint's history.
      if (client) for (const s of streams) await pollEndpoint(client, s.endpointId, s.contiguous!);
      if (fallback.poll) await pollCustom(fallback.poll);
    }
    if (client) {
      for (const s of streams) {
        const contiguous = s.contiguous!;
        if (s.highest <= contiguous) {
          gaps.delete(s.endpointId);
          continue;
        }
        const gap = gaps.get(s.endpointId);
        if (gap === undefined || gap.contiguous !== contiguous) {
          gaps.set(s.endpointId, { contiguous, since: now });
        } else if (now - gap.since >= gapGrace) {
          logger.warn(
            { endpointId: s.endpointId, after: contiguous, highest: s.highest },
            'herald receiver: a sequence gap stayed open; fetching the missing events',
          );
          await pollEndpoint(client, s.endpointId, contiguous);
          // Still open (the sender does not have them yet)? Look again after another grace period.
          gap.since = now;
        }
      }
    }
    if (dirty && pollCursor !== null) {
      dirty = false;
      await options.inbox.saveCursors({ [POLL_CURSOR]: pollCursor });
    }
  }

  return {
    /** Called by the route for every verified webhook, new or duplicate. */
    observe(event: { connectionId: string | null }, source: 'webhook' | 'poll') {
      if (source === 'webhook') {
        lastWebhookAt = clock.now();
        lastSilencePollAt = null;
        silenceAlerted = false;
      }
      if (event.connectionId) connections.add(event.connectionId);
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
        // Inboxes of earlier versions kept each stream's position as a cursor.
        if (name.startsWith(STREAM_CURSOR))
          await options.inbox.openStream(name.slice(STREAM_CURSOR.length), Number(value));
        else if (name === POLL_CURSOR) pollCursor = value;
      }
      // Before any event of the client's endpoint can run: where its stream starts (tried again at
      // every check if the sender cannot be read now).
      await settleStart(fallback.client).catch((error) => {
        logger.error(
          { err: describeError(error) },
          "herald receiver: reading where the endpoint's stream starts failed",
        );
      });
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
