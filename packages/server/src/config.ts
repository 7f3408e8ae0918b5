import type { Clock } from '@herald/protocol';
import { parseDuration, systemClock } from '@herald/protocol';
import { CIRCUIT_FAILURES } from './dispatch/circuit.js';

/** The one configuration object, built once at start from flags and environment and passed down. */
export interface Config {
  port: number;
  host: string;
  /** A SQLite file path, or a postgres:// URL. */
  db: string;
  allowPrivateNetworks: boolean;
  /** The first retry interval, ms (`--retry-base`, default 30 s). */
  retryBaseMs: number;
  /** How long after creation a delivery is retried automatically, ms (`--retry-max-age`, default 24 h). */
  retryMaxAgeMs: number;
  /** API requests per second per key (`--rate-limit`, default 200). */
  rateLimitPerS: number;
  /** Largest request body, bytes (`--max-body`, default 1 MiB). */
  maxBodyBytes: number;
  /** Event payloads and attempt bodies older than this are purged, ms (`--retention`, default 30 d). */
  retentionMs: number;
  /** An endpoint failing every attempt for this long is disabled, ms (`--disable-after`, default 5 d). */
  disableAfterMs: number;
  /**
   * An endpoint whose attempts over the last 15 minutes failed at this rate or more fires an
   * `endpoint_failure_rate` alert (`--alert-failure-rate`, default 0.5).
   */
  alertFailureRate: number;
  /** The failure-rate alert needs at least this many attempts in its 15 minutes (default 10). */
  alertMinAttempts: number;
  /** A due delivery waiting this long fires a `delivery_backlog` alert, ms (`--alert-due-age`, default 5 min). */
  alertDueAgeMs: number;
  /**
   * How often endpoint disabling and alerts run, ms (`--check-interval`, default 30 s): once per
   * interval across every process on the store, whichever gets there first.
   */
  checkIntervalMs: number;
  /** How long a claim holds a delivery before another process may take it, ms (`--claim-lease`, default 60 s). */
  claimLeaseMs: number;
  /** Requests in flight per endpoint (`--endpoint-concurrency`, default 10). */
  endpointConcurrency: number;
  /**
   * Failed automatic attempts in a row that open an endpoint's circuit (`--circuit-failures`,
   * default 5; dispatch/circuit.ts says why). 0: no circuit, every delivery keeps its own schedule.
   */
  circuitFailures: number;
  /** Attempt timeout, ms (10 s by the contract). */
  attemptTimeoutMs: number;
  /**
   * How long a client may take to send its request headers, ms (default 10 s), and its whole
   * request, body included (default 30 s): a client that drips a byte every 2 s is cut off instead
   * of holding a connection for minutes. 1 MiB at 30 s is 35 KB/s, slower than any real client.
   */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  bootstrapKey: string | undefined;
  /**
   * Where people reach this Herald (`--public-url`, env HERALD_PUBLIC_URL), e.g.
   * `https://hooks.example.com`: portal links are `<public url>/portal/#token=…`.
   * @default the address the API listens on
   */
  publicUrl?: string | undefined;
  /**
   * Who may frame the portal (`--portal-frame-ancestors`): CSP `frame-ancestors` sources, e.g.
   * `['https://app.example.com']`. The operator dashboard may never be framed.
   * @default ["'self'"]
   */
  portalFrameAncestors?: string[] | undefined;
  /** Where the portal's "session expired" notice links back to (`--portal-return-url`). */
  portalReturnUrl?: string | undefined;
  /** The portal's brand name (`--portal-brand-name`); a tenant's `metadata.brand_name` overrides it. */
  portalBrandName?: string | undefined;
  /** The portal's accent colour, `#rrggbb` (`--portal-accent`); a tenant's `metadata.accent` overrides it. */
  portalAccent?: string | undefined;
  secretKey: string | undefined;
  /** pino log level; `silent` in tests. */
  logLevel: string;
  clock: Clock;
  /** A number in [0, 1) for retry jitter; tests pin it. */
  random: () => number;
}

export const DEFAULTS = {
  port: 8787,
  host: '0.0.0.0',
  db: './herald.db',
  retryBase: '30s',
  retryMaxAge: '24h',
  rateLimit: 200,
  maxBody: '1mb',
  retention: '30d',
  disableAfter: '5d',
  claimLease: '60s',
  checkInterval: '30s',
  endpointConcurrency: 10,
  circuitFailures: CIRCUIT_FAILURES,
  alertFailureRate: 0.5,
  alertMinAttempts: 10,
  alertDueAge: '5m',
} as const;

/** `1mb`, `512kb`, `100b` or a number of bytes → bytes. */
export function parseByteSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) throw new RangeError(`"${value}" is not a size such as 512kb or 1mb.`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  return Math.round(Number(match[1]) * unit);
}

/** A full Config from partial settings (tests pass only what they change). */
export function makeConfig(partial: Partial<Config> = {}): Config {
  return {
    port: DEFAULTS.port,
    host: DEFAULTS.host,
    db: DEFAULTS.db,
    allowPrivateNetworks: false,
    retryBaseMs: parseDuration(DEFAULTS.retryBase),
    retryMaxAgeMs: parseDuration(DEFAULTS.retryMaxAge),
    rateLimitPerS: DEFAULTS.rateLimit,
    maxBodyBytes: parseByteSize(DEFAULTS.maxBody),
    retentionMs: parseDuration(DEFAULTS.retention),
    disableAfterMs: parseDuration(DEFAULTS.disableAfter),
    claimLeaseMs: parseDuration(DEFAULTS.claimLease),
    checkIntervalMs: parseDuration(DEFAULTS.checkInterval),
    alertFailureRate: DEFAULTS.alertFailureRate,
    alertMinAttempts: DEFAULTS.alertMinAttempts,
    alertDueAgeMs: parseDuration(DEFAULTS.alertDueAge),
    endpointConcurrency: DEFAULTS.endpointConcurrency,
    circuitFailures: DEFAULTS.circuitFailures,
    attemptTimeoutMs: 10_000,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    bootstrapKey: undefined,
    secretKey: undefined,
    logLevel: 'info',
    clock: systemClock,
    random: Math.random,
    ...partial,
  };
}
