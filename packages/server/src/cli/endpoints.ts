import type { Endpoint } from '@herald/client';
import type { Command } from 'commander';
import { type ApiFlags, clientOf, positive, withApiFlags } from './api-flags.js';
import { printJson, table, UsageError } from './output.js';

interface EndpointFlags extends ApiFlags {
  description?: string;
  eventTypes?: string;
  connections?: string;
  header?: string[];
  rateLimit?: number;
  scheme?: 'standard-webhooks' | 'hmac-sha256';
  disabled?: boolean;
  enabled?: boolean;
  newUrl?: string;
}

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

function headers(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    if (at <= 0) throw new UsageError(`--header "${pair}": write it as "Name: value".`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function endpointRows(endpoints: Endpoint[]): string {
  return table(
    ['ID', 'URL', 'STATE', 'EVENT TYPES', 'DESCRIPTION'],
    endpoints.map((e) => [
      e.id,
      e.url,
      e.disabled ? `disabled${e.disabled_reason ? ` (${e.disabled_reason})` : ''}` : 'enabled',
      e.event_types.length === 0 ? '*' : e.event_types.join(','),
      e.description,
    ]),
  );
}

function showOne(endpoint: Endpoint & { secret?: string }, json: boolean | undefined): void {
  if (json) {
    printJson(endpoint);
    return;
  }
  process.stdout.write(endpointRows([endpoint]));
  if (endpoint.secret)
    process.stdout.write(`\nSigning secret (shown by create and rotate-secret): ${endpoint.secret}\n`);
}

function fields(command: Command): Command {
  return command
    .option('--description <text>', 'what the endpoint is for')
    .option('--event-types <a,b>', 'comma-separated event types it receives (default: all)')
    .option('--connections <a,b>', 'comma-separated connection ids it receives (default: all)')
    .option('--header <name: value>', 'a header sent with each delivery (repeatable)', collect)
    .option('--rate-limit <per-second>', 'deliveries per second at most', positive)
    .option('--scheme <scheme>', 'standard-webhooks (default) or hmac-sha256');
}

export function endpointCommands(program: Command): void {
  const endpoints = program.command('endpoints').description('manage the endpoints webhooks are sent to');

  withApiFlags(endpoints.command('list').description('list endpoints'))
    .option('--limit <n>', 'rows at most', positive, 100)
    .action(async (flags: ApiFlags & { limit: number }) => {
      const out: Endpoint[] = [];
      for await (const e of clientOf(flags).endpoints.list({ limit: Math.min(250, flags.limit) })) {
        out.push(e);
        if (out.length >= flags.limit) break;
      }
      if (flags.json) printJson(out);
      else process.stdout.write(endpointRows(out));
    });

  withApiFlags(fields(endpoints.command('create').description('create an endpoint').argument('<url>'))).action(
    async (url: string, flags: EndpointFlags) => {
      const created = await clientOf(flags).endpoints.create({
        url,
        description: flags.description,
        event_types: list(flags.eventTypes),
        connection_ids: list(flags.connections),
        headers: headers(flags.header),
        rate_limit_per_s: flags.rateLimit,
        signature_scheme: flags.scheme,
      });
      showOne(created, flags.json);
    },
  );

  withApiFlags(endpoints.command('get').description('show one endpoint').argument('<id>')).action(
    async (id: string, flags: ApiFlags) => showOne(await clientOf(flags).endpoints.get(id), flags.json),
  );

  withApiFlags(
    fields(endpoints.command('update').description('change an endpoint').argument('<id>'))
      .option('--new-url <url>', 'a new URL')
      .option('--disable', 'stop delivering to it')
      .option('--enable', 'deliver to it again'),
  ).action(async (id: string, flags: EndpointFlags & { disable?: boolean; enable?: boolean }) => {
    if (flags.disable && flags.enable) throw new UsageError('--disable and --enable cannot go together.');
    const updated = await clientOf(flags).endpoints.update(id, {
      url: flags.newUrl,
      description: flags.description,
      event_types: list(flags.eventTypes),
      connection_ids: list(flags.connections),
      headers: headers(flags.header),
      rate_limit_per_s: flags.rateLimit,
      signature_scheme: flags.scheme,
      disabled: flags.disable ? true : flags.enable ? false : undefined,
    });
    showOne(updated, flags.json);
  });

  withApiFlags(endpoints.command('delete').description('delete an endpoint').argument('<id>')).action(
    async (id: string, flags: ApiFlags) => {
      const deleted = await clientOf(flags).endpoints.delete(id);
      if (flags.json) printJson(deleted);
      else process.stdout.write(`Deleted ${deleted.id}.\n`);
    },
  );

  withApiFlags(
    endpoints
      .command('rotate-secret')
      .description('give an endpoint a new secret (the old one signs beside it for 24 h)')
      .argument('<id>'),
  ).action(async (id: string, flags: ApiFlags) => {
    const rotated = await clientOf(flags).endpoints.rotateSecret(id);
    if (flags.json) return printJson(rotated);
    showOne(rotated, false);
    process.stdout.write(`The previous secret still signs until ${rotated.previous_secret_expires_at}.\n`);
  });
}
