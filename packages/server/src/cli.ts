import { HERALD_VERSION, parseDuration } from '@herald/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Role } from './app.js';
import { DEFAULTS, makeConfig, parseByteSize } from './config.js';
import { tuneHeap } from './heap.js';
import { parseAccent, parseBrandName, parseFrameAncestors, parseReturnUrl } from './portal-settings.js';

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function size(value: string): number {
  try {
    return parseByteSize(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive whole number.`);
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(`"${value}" is not a whole number (0 or more).`);
  }
  return n;
}

function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw new InvalidArgumentError(`"${value}" is not a rate between 0 and 1 (e.g. 0.5).`);
  }
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port number.`);
  return n;
}

/** An http(s) URL without query or fragment; a trailing slash is dropped. */
function publicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL such as https://hooks.example.com.`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(`"${value}" must be an http(s) URL without a query or fragment.`);
  }
  return url.toString().replace(/\/+$/, '');
}

interface Flags {
  port: number;
  host: string;
  db: string;
  allowPrivateNetworks: boolean;
  retryBase: number;
  retryMaxAge: number;
  rateLimit: number;
  maxBody: number;
  retention: number;
  disableAfter: number;
  claimLease: number;
  checkInterval: number;
  endpointConcurrency: number;
  circuitFailures: number;
  alertFailureRate: number;
  alertDueAge: number;
  logLevel: string;
  publicUrl?: string;
  portalFrameAncestors?: string[];
  portalReturnUrl?: string;
  portalBrandName?: string;
  portalAccent?: string;
}

/** A RangeError of portal-settings.ts as commander's error for a bad flag value. */
function flag<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

function withServerFlags(command: Command): Command {
  return command
    .addOption(new Option('--port <port>', 'port of the API').env('PORT').argParser(port).default(DEFAULTS.port))
    .option('--host <host>', 'address to listen on', DEFAULTS.host)
    .addOption(
      new Option(
        '--public-url <url>',
        'where people reach Herald; portal links start with it (default: the listening address)',
      )
        .env('HERALD_PUBLIC_URL')
        .argParser(publicUrl),
    )
    .addOption(
      new Option(
        '--portal-frame-ancestors <origins>',
        "origins that may embed the customer portal in a frame, space- or comma-separated (default: 'self')",
      )
        .env('HERALD_PORTAL_FRAME_ANCESTORS')
        .argParser(flag(parseFrameAncestors)),
    )
    .addOption(
      new Option('--portal-return-url <url>', 'where the portal\'s "session expired" notice links back to')
        .env('HERALD_PORTAL_RETURN_URL')
        .argParser(flag(parseReturnUrl)),
    )
    .addOption(
      new Option('--portal-brand-name <name>', "the portal header's name (a tenant's metadata.brand_name overrides it)")
        .env('HERALD_PORTAL_BRAND_NAME')
        .argParser(flag(parseBrandName)),
    )
    .addOption(
      new Option('--portal-accent <#rrggbb>', "the portal's accent colour (a tenant's metadata.accent overrides it)")
        .env('HERALD_PORTAL_ACCENT')
        .argParser(flag(parseAccent)),
    )
    .addOption(
      new Option('--db <path-or-url>', 'SQLite file, or a postgres:// URL').env('HERALD_DB').default(DEFAULTS.db),
    )
    .option('--allow-private-networks', 'let endpoints use http and loopback/private addresses (development)', false)
    .option('--retry-base <duration>', 'first retry interval', duration, duration(DEFAULTS.retryBase))
    .option(
      '--retry-max-age <duration>',
      'automatic retries stop this long after creation',
      duration,
      duration(DEFAULTS.retryMaxAge),
    )
    .option('--rate-limit <per-second>', 'API requests per second per key', positiveInt, DEFAULTS.rateLimit)
    .option('--max-body <size>', 'largest request body', size, size(DEFAULTS.maxBody))
    .option(
      '--retention <duration>',
      'purge payloads and response bodies older than this',
      duration,
      duration(DEFAULTS.retention),
    )
    .option(
      '--disable-after <duration>',
      'disable an endpoint failing every attempt this long',
      duration,
      duration(DEFAULTS.disableAfter),
    )
    .option(
      '--claim-lease <duration>',
      'how long a claimed delivery is held before another worker may take it',
      duration,
      duration(DEFAULTS.claimLease),
    )
    .option(
      '--check-interval <duration>',
      'how often endpoint disabling and alerts run (once per interval across all workers)',
      duration,
      duration(DEFAULTS.checkInterval),
    )
    .option('--endpoint-concurrency <n>', 'requests in flight per endpoint', positiveInt, DEFAULTS.endpointConcurrency)
    .option(
      '--circuit-failures <n>',
      "failed attempts in a row that open an endpoint's circuit (0: no circuit)",
      wholeNumber,
      DEFAULTS.circuitFailures,
    )
    .option(
      '--alert-failure-rate <ratio>',
      "alert when an endpoint's attempts over 15 minutes fail at this rate (at least 10 attempts)",
      ratio,
      DEFAULTS.alertFailureRate,
    )
    .option(
      '--alert-due-age <duration>',
      'alert when a due delivery has waited this long',
      duration,
      duration(DEFAULTS.alertDueAge),
    )
    .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info'));
}

async function run(role: Role, flags: Flags): Promise<void> {
  tuneHeap();
  const config = makeConfig({
    port: flags.port,
    host: flags.host,
    db: flags.db,
    allowPrivateNetworks: flags.allowPrivateNetworks,
    retryBaseMs: flags.retryBase,
    retryMaxAgeMs: flags.retryMaxAge,
    rateLimitPerS: flags.rateLimit,
    maxBodyBytes: flags.maxBody,
    retentionMs: flags.retention,
    disableAfterMs: flags.disableAfter,
    claimLeaseMs: flags.claimLease,
    checkIntervalMs: flags.checkInterval,
    endpointConcurrency: flags.endpointConcurrency,
    circuitFailures: flags.circuitFailures,
    alertFailureRate: flags.alertFailureRate,
    alertDueAgeMs: flags.alertDueAge,
    logLevel: flags.logLevel,
    publicUrl: flags.publicUrl,
    portalFrameAncestors: flags.portalFrameAncestors,
    portalReturnUrl: flags.portalReturnUrl,
    portalBrandName: flags.portalBrandName,
    portalAccent: flags.portalAccent,
    bootstrapKey: process.env.HERALD_BOOTSTRAP_KEY || undefined,
    secretKey: process.env.HERALD_SECRET_KEY || undefined,
  });
  // Loaded here, not at the top: the people commands (src/cli/) start without the server's modules.
  const { startHerald } = await import('./app.js');
  const herald = await startHerald(config, role);
  if (herald.generatedKey) {
    process.stdout.write(
      `\nNo API key existed, so Herald made an admin key. It is shown this once; keep it:\n\n  ${herald.generatedKey}\n\n`,
    );
  }
  const where = herald.url
    ? ` on ${herald.url.replace('127.0.0.1', config.host === '0.0.0.0' ? 'localhost' : config.host)}`
    : '';
  process.stdout.write(`Herald ${role} running${where} (store: ${herald.store.kind} ${config.db})\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: finishing attempts in flight and closing the store…\n`);
    herald.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** What the people commands (src/cli/, a project of its own) add to the program, and how they end. */
export interface CliExtension {
  addCommands(program: Command): void;
  onError(error: unknown): never;
}

export async function main(argv: string[], extension?: CliExtension): Promise<void> {
  const program = new Command('herald').description('Herald: webhooks that are never lost.').version(HERALD_VERSION);
  const roles: Array<[Role, string]> = [
    ['serve', 'the API and the dispatcher in one process (the default way to run Herald)'],
    ['api', 'the REST API alone'],
    ['worker', 'the dispatcher and background jobs alone'],
  ];
  for (const [role, description] of roles) {
    withServerFlags(program.command(role).description(description)).action((flags: Flags) => run(role, flags));
  }
  extension?.addCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (extension) extension.onError(error);
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
