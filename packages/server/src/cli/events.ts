import { readFileSync } from 'node:fs';
import type { Event } from '@herald/client';
import type { Command } from 'commander';
import { type ApiFlags, clientOf, positive, withApiFlags } from './api-flags.js';
import { printJson, table, UsageError } from './output.js';

/** `--data '{…}'` or `--data @file.json`: a JSON object. */
export function readData(text: string): Record<string, unknown> {
  let source = text;
  if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`--data ${text}: cannot read the file (${(error as Error).message}).`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new UsageError(`--data: not JSON (${(error as Error).message}).`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError('--data: must be a JSON object, e.g. \'{"order_id": 42}\'.');
  }
  return value as Record<string, unknown>;
}

export function eventCommands(program: Command): void {
  const events = program.command('events').description('publish and read events');

  withApiFlags(events.command('publish').description('publish an event'))
    .requiredOption('--type <type>', 'the event type, e.g. order.paid')
    .requiredOption('--data <json|@file>', "the event's data: a JSON object, or @file.json")
    .option('--connection <id>', 'the connection it belongs to')
    .option('--occurred-at <time>', 'when it happened (ISO-8601; default now)')
    .option('--idempotency-key <key>', 'publish at most once per key (default: a new key per command)')
    .action(
      async (
        flags: ApiFlags & {
          type: string;
          data: string;
          connection?: string;
          occurredAt?: string;
          idempotencyKey?: string;
        },
      ) => {
        const data = readData(flags.data);
        const published = await clientOf(flags).events.publish(
          { type: flags.type, data, connection_id: flags.connection, occurred_at: flags.occurredAt },
          { idempotencyKey: flags.idempotencyKey },
        );
        if (flags.json) return printJson(published);
        const n = published.deliveries.length;
        process.stdout.write(`Published ${published.id}: ${n} ${n === 1 ? 'delivery' : 'deliveries'}.\n`);
      },
    );

  withApiFlags(events.command('list').description('list events, oldest first, from the feed'))
    .option('--type <type>', 'only this type')
    .option('--connection <id>', 'only this connection')
    .option('--after <cursor>', 'start after this feed cursor')
    .option('--limit <n>', 'rows at most', positive, 100)
    .action(async (flags: ApiFlags & { type?: string; connection?: string; after?: string; limit: number }) => {
      const out: Event[] = [];
      const feed = clientOf(flags).events.list({
        type: flags.type,
        connection_id: flags.connection,
        after: flags.after,
        limit: Math.min(250, flags.limit),
      });
      for await (const e of feed) {
        out.push(e);
        if (out.length >= flags.limit) break;
      }
      if (flags.json) return printJson(out);
      process.stdout.write(
        table(
          ['ID', 'TYPE', 'CONNECTION', 'OCCURRED AT', 'DATA'],
          out.map((e) => [e.id, e.type, e.connection_id, e.occurred_at, JSON.stringify(e.data).slice(0, 60)]),
        ),
      );
    });

  withApiFlags(events.command('get').description('show one event and its deliveries').argument('<id>')).action(
    async (id: string, flags: ApiFlags) => {
      const event = await clientOf(flags).events.get(id);
      if (flags.json) return printJson(event);
      process.stdout.write(
        `${event.id}  ${event.type}  ${event.occurred_at}\n${JSON.stringify(event.data, null, 2)}\n\n`,
      );
      process.stdout.write(
        table(
          ['DELIVERY', 'ENDPOINT', 'STATUS', 'ATTEMPTS'],
          event.deliveries.map((d) => [d.id, d.endpoint_id, d.status, d.attempt_count]),
        ),
      );
    },
  );
}
