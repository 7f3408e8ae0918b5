import { type Attempt, type Delivery, type HeraldClient, HeraldError } from '@herald/client';
import type { Command } from 'commander';
import { type ApiFlags, clientOf, positive, withApiFlags } from './api-flags.js';
import { type Colour, colours, paint } from './output.js';

/**
 * `herald tail`: one line per new delivery and per attempt, as they happen. Each tick reads the
 * newest deliveries (newest first); a delivery not seen before is printed, and one whose
 * attempt_count grew has its new attempts read and printed. Deliveries still pending are kept in
 * view even once newer ones push them off that first page, so a slow retry still shows.
 */

/** The newest deliveries read per tick: more than a second of the default publish rate in a test. */
const PAGE = 250;
/** Pending deliveries followed beyond the first page, at most (each costs a read per tick). */
const WATCH_MAX = 100;

interface Seen {
  attempts: number;
  status: Delivery['status'];
}

export interface TailLine {
  kind: 'delivery' | 'attempt';
  /** When the delivery was created, or the attempt started (ISO-8601). */
  at: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  status: Delivery['status'];
  attempt_no?: number;
  response_status?: number | null;
  error?: string | null;
  duration_ms?: number;
}

/** The colour of a line: green a 2xx, yellow a failure that will be retried, red a delivery failed for good. */
export function outcome(line: TailLine): Colour | undefined {
  if (line.kind === 'delivery') return 'dim';
  if (line.response_status !== undefined && line.response_status !== null && line.response_status < 300) {
    return 'green';
  }
  return line.status === 'failed' ? 'red' : 'yellow';
}

function text(line: TailLine): string {
  const time = line.at.slice(11, 23);
  if (line.kind === 'delivery') {
    return `${time}  new      ${line.delivery_id}  ${line.endpoint_id}  event ${line.event_id}`;
  }
  const answer = line.response_status ?? line.error ?? '-';
  return `${time}  attempt  ${line.delivery_id}  #${line.attempt_no}  ${String(answer).padEnd(12)} ${line.duration_ms} ms  ${line.status}`;
}

export async function tail(
  client: HeraldClient,
  options: {
    intervalMs: number;
    endpoint?: string;
    signal: AbortSignal;
    print: (line: TailLine) => void;
    warn?: (message: string) => void;
  },
): Promise<void> {
  const seen = new Map<string, Seen>();
  let first = true;
  const warn = options.warn ?? (() => {});
  let failures = 0;
  while (!options.signal.aborted) {
    try {
      await tick();
      first = false;
      failures = 0;
    } catch (error) {
      if (options.signal.aborted) return;
      // Herald away (restarting, say) after the client's own retries: say so and keep following.
      if (!(error instanceof HeraldError) || (error.status !== 0 && error.status < 500)) throw error;
      failures++;
      warn(`Herald unreachable (${error}); trying again.`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs * Math.min(10, 2 ** failures)));
  }

  async function tick(): Promise<void> {
    const page = await client.deliveries.page(
      { endpoint_id: options.endpoint, limit: PAGE },
      { signal: options.signal },
    );
    const current = new Map(page.data.map((d) => [d.id, d]));
    // Pending ones that fell off the page are read one by one.
    const watched = [...seen.entries()].filter(([id, s]) => s.status === 'pending' && !current.has(id));
    for (const [id] of watched.slice(0, WATCH_MAX)) {
      current.set(id, await client.deliveries.get(id, { signal: options.signal }));
    }
    // Oldest first, so lines come in the order things happened.
    for (const d of [...current.values()].reverse()) {
      const before = seen.get(d.id);
      if (first) {
        seen.set(d.id, { attempts: d.attempt_count, status: d.status });
        continue;
      }
      // Written only once its lines are printed: a tick cut short by an error prints them next time.
      if (!before) {
        seen.set(d.id, { attempts: 0, status: d.status });
        options.print({
          kind: 'delivery',
          at: d.created_at,
          delivery_id: d.id,
          endpoint_id: d.endpoint_id,
          event_id: d.event_id,
          status: d.status,
        });
      }
      const known = before?.attempts ?? 0;
      if (d.attempt_count > known) {
        const full = await client.deliveries.get(d.id, { signal: options.signal });
        const last = full.attempts[full.attempts.length - 1];
        for (const a of full.attempts.filter((x: Attempt) => x.attempt_no > known)) {
          options.print({
            kind: 'attempt',
            at: a.started_at,
            delivery_id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            // An attempt before the last was followed by another: the delivery was still pending then.
            status: a === last ? full.status : 'pending',
            attempt_no: a.attempt_no,
            response_status: a.response_status,
            error: a.error,
            duration_ms: a.duration_ms,
          });
        }
        seen.set(d.id, { attempts: full.attempts.length, status: full.status });
      } else {
        seen.set(d.id, { attempts: known, status: d.status });
      }
    }
    // Forget settled deliveries far off the page, so a long tail keeps a bounded map.
    if (seen.size > PAGE * 4) {
      for (const [id, s] of seen) if (s.status !== 'pending' && !current.has(id)) seen.delete(id);
    }
  }
}

export function tailCommand(program: Command): void {
  withApiFlags(program.command('tail').description('follow new deliveries and attempts, one line each'))
    .option('--endpoint <id>', 'only this endpoint')
    .option('--interval <ms>', 'how often to look, ms', positive, 1000)
    .action(async (flags: ApiFlags & { endpoint?: string; interval: number }) => {
      const client = clientOf(flags);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      const colour = colours();
      if (!flags.json) process.stderr.write(`Following deliveries on ${flags.url} (Ctrl-C to stop)…\n`);
      try {
        await tail(client, {
          intervalMs: flags.interval,
          endpoint: flags.endpoint,
          signal: controller.signal,
          warn: (message) => process.stderr.write(`${message}\n`),
          print: (line) =>
            process.stdout.write(
              flags.json ? `${JSON.stringify(line)}\n` : `${paint(text(line), outcome(line), colour)}\n`,
            ),
        });
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    });
}
