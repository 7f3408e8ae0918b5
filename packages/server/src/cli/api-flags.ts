import { createClient, type HeraldClient } from '@herald/client';
import { type Command, Option } from 'commander';
import { UsageError } from './output.js';

/** The flags every command that calls the API takes. */
export interface ApiFlags {
  url: string;
  key?: string;
  json?: boolean;
}

export function withApiFlags(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', "Herald's address").env('HERALD_URL').default('http://localhost:8787'))
    .addOption(new Option('--key <api-key>', 'an API key (admin to write)').env('HERALD_API_KEY'))
    .option('--json', 'print JSON for scripts instead of tables', false);
}

export function clientOf(flags: ApiFlags): HeraldClient {
  if (!flags.key) throw new UsageError('no API key: set HERALD_API_KEY or pass --key.');
  try {
    new URL(flags.url);
  } catch {
    throw new UsageError(`--url: "${flags.url}" is not a URL.`);
  }
  return createClient({ url: flags.url, apiKey: flags.key });
}

/** `--limit` for the list commands: how many rows, at most. */
export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`"${value}" is not a positive whole number.`);
  return n;
}
