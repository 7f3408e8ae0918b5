import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type HeraldClient, HeraldError, type StreamItem } from '@herald/client';
import type { Command } from 'commander';
import { buildWebhookRequest } from '../dispatch/webhook-request.js';
import type { ClaimedDelivery, EndpointRecord } from '../store/types.js';
import { type ApiFlags, clientOf, positive, withApiFlags } from './api-flags.js';
import { colours, paint, UsageError } from './output.js';

/**
 * `herald listen`: follows one endpoint's gap-free stream (GET /v1/events?endpoint_id=&after=) and
 * forwards each envelope, in sequence order, to a local URL, signed with the endpoint's current
 * secret by the dispatcher's own request builder (same body bytes, same headers). The last
 * sequence the local app answered 2xx is written to a state file after each one, so a restart
 * resumes there: an event is never skipped, and one forwarded just before a kill may be forwarded
 * again (the receiver dedupes by webhook-id, as for any delivery). While the local app is down or
 * answers non-2xx, the same event is retried with backoff and the stream does not advance.
 */

/** Backoff while the local app fails: 0.5 s doubling to 10 s — a developer restarting their app sees it picked up within seconds. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** Each forward's time limit: the dispatcher's default attempt timeout. */
const FORWARD_TIMEOUT_MS = 30_000;

export interface ListenState {
  endpoint_id: string;
  last_sequence: number;
}

export function defaultStateFile(endpointId: string): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'herald', 'listen', `${endpointId}.json`);
}

function readState(file: string, endpointId: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const state = JSON.parse(text) as Partial<ListenState>;
  if (state.endpoint_id !== endpointId || !Number.isInteger(state.last_sequence)) {
    throw new UsageError(`${file} holds the state of another endpoint (${state.endpoint_id}); pass --state.`);
  }
  return state.last_sequence;
}

/** Written to a temp file and renamed over the old one: a kill leaves the old state or the new, never half. */
function writeState(file: string, state: ListenState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state)}\n`);
  renameSync(tmp, file);
}

interface Signer {
  sign(item: StreamItem): { body: string; headers: Record<string, string> };
  refresh(): Promise<void>;
}

/** The dispatcher's request builder over the endpoint as the API shows it, with its current secret. */
async function signer(client: HeraldClient, endpointId: string): Promise<Signer> {
  let endpoint: EndpointRecord;
  const load = async () => {
    const [ep, { secret }] = await Promise.all([client.endpoints.get(endpointId), client.endpoints.secret(endpointId)]);
    endpoint = {
      id: ep.id,
      headers: ep.headers,
      signatureScheme: ep.signature_scheme,
      secret,
      // GET …/secret gives the current secret only: the forward is signed with it alone.
      previousSecret: null,
      previousSecretExpiresAt: null,
    } as EndpointRecord;
  };
  await load();
  return {
    sign(item) {
      const claimed = {
        delivery: { sequence: item.sequence },
        endpoint,
        event: {
          id: item.id,
          type: item.type,
          occurredAt: Date.parse(item.occurred_at),
          connectionId: item.connection_id,
          data: item.data,
        },
      } as ClaimedDelivery;
      const request = buildWebhookRequest(claimed, Date.now());
      return { body: request.body, headers: request.headers };
    },
    refresh: load,
  };
}

export interface ListenOptions {
  client: HeraldClient;
  endpointId: string;
  forwardTo: string;
  stateFile: string;
  /** Where to start when the state file has none: a sequence, or undefined for the stream's current end. */
  after?: number;
  intervalMs: number;
  signal: AbortSignal;
  log: (line: string, colour?: 'green' | 'yellow' | 'red' | 'dim') => void;
}

async function streamEnd(client: HeraldClient, endpointId: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await client.events.streamPage(endpointId, { after, limit: 250 });
    if (page.data.length === 0) return after;
    after = Number(page.next_cursor);
  }
}

/** Waits `ms`, or less if the signal aborts; leaves no listener behind (the loop waits thousands of times). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export async function listen(options: ListenOptions): Promise<void> {
  const { client, endpointId, forwardTo, stateFile, signal, log } = options;
  mkdirSync(dirname(stateFile), { recursive: true });
  const saved = readState(stateFile, endpointId);
  let last: number;
  if (saved !== undefined) {
    last = saved;
    log(`Resuming after sequence ${last} (state: ${stateFile}).`, 'dim');
  } else if (options.after !== undefined) {
    last = options.after;
    log(`Starting after sequence ${last} (state: ${stateFile}).`, 'dim');
  } else {
    last = await streamEnd(client, endpointId);
    log(`Starting after sequence ${last}: new events only (--after 0 replays the stream). State: ${stateFile}.`, 'dim');
  }
  const sign = await signer(client, endpointId);
  log(`Forwarding ${endpointId} to ${forwardTo}. Ctrl-C to stop.`, 'dim');

  let herald = 0;
  while (!signal.aborted) {
    let page: Awaited<ReturnType<typeof client.events.streamPage>>;
    try {
      page = await client.events.streamPage(endpointId, { after: last, limit: 100 }, { signal });
      herald = 0;
    } catch (error) {
      if (signal.aborted) return;
      // Herald away (restarting, say) after the client's own retries: keep waiting, it holds the stream.
      if (!(error instanceof HeraldError) || (error.status !== 0 && error.status < 500)) throw error;
      const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** herald++);
      log(`Herald unreachable (${error}); trying again in ${(wait / 1000).toFixed(1)} s, holding at #${last}.`, 'red');
      await sleep(wait, signal);
      continue;
    }
    if (page.data.length === 0) {
      await sleep(options.intervalMs, signal);
      continue;
    }
    for (const item of page.data) {
      // The stream is gap-free: anything else means a bug or a changed endpoint, and is not skipped over.
      if (item.sequence !== last + 1) throw new Error(`The stream jumped from sequence ${last} to ${item.sequence}.`);
      for (let failures = 0; !signal.aborted; failures++) {
        const { body, headers } = sign.sign(item);
        const started = Date.now();
        let answer: string;
        let ok = false;
        try {
          const response = await fetch(forwardTo, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.any([signal, AbortSignal.timeout(FORWARD_TIMEOUT_MS)]),
          });
          await response.arrayBuffer();
          ok = response.ok;
          answer = String(response.status);
        } catch (error) {
          if (signal.aborted) return;
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          answer = cause?.code ?? cause?.message ?? (error as Error).message;
        }
        const ms = Date.now() - started;
        const line = `#${item.sequence}  ${item.id}  ${item.type}  → ${answer} (${ms} ms)`;
        if (ok) {
          log(line, 'green');
          last = item.sequence;
          writeState(stateFile, { endpoint_id: endpointId, last_sequence: last });
          break;
        }
        const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** failures);
        log(
          `${line}; local app down or failing: retrying #${item.sequence} in ${(wait / 1000).toFixed(1)} s, not advancing.`,
          'red',
        );
        await sleep(wait, signal);
        // A rotation since the start would make every forward fail verification.
        await sign.refresh().catch(() => undefined);
      }
      if (signal.aborted) return;
    }
  }
}

export function listenCommand(program: Command): void {
  withApiFlags(
    program
      .command('listen')
      .description("forward an endpoint's events to a local URL, signed as deliveries are (no tunnel needed)"),
  )
    .requiredOption('--endpoint <id>', 'the endpoint whose stream to follow (ep_…)')
    .requiredOption('--forward-to <url>', 'the local URL to POST each event to')
    .option(
      '--state <file>',
      'where the last forwarded sequence is kept (default: $XDG_STATE_HOME/herald/listen/<endpoint>.json, XDG_STATE_HOME defaulting to ~/.local/state)',
    )
    .option(
      '--after <sequence>',
      'when there is no state yet, start after this sequence (default: the current end)',
      (v) => (v === '0' ? 0 : positive(v)),
    )
    .option('--interval <ms>', 'how often to look for new events when idle, ms', positive, 500)
    .action(
      async (
        flags: ApiFlags & { endpoint: string; forwardTo: string; state?: string; after?: number; interval: number },
      ) => {
        try {
          new URL(flags.forwardTo);
        } catch {
          throw new UsageError(`--forward-to: "${flags.forwardTo}" is not a URL.`);
        }
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        process.once('SIGTERM', () => controller.abort());
        const colour = colours();
        await listen({
          client: clientOf(flags),
          endpointId: flags.endpoint,
          forwardTo: flags.forwardTo,
          stateFile: flags.state ?? defaultStateFile(flags.endpoint),
          after: flags.after,
          intervalMs: flags.interval,
          signal: controller.signal,
          log: (line, c) => process.stdout.write(`${paint(line, c, colour)}\n`),
        });
      },
    );
}
