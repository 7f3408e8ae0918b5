import { parseDuration } from '@herald/protocol';

/**
 * The one reading of the receiver's options: each is checked when the receiver is built, and a bad
 * one throws a TypeError that names it, rather than a receiver that silently does nothing.
 */
export class OptionError extends TypeError {
  override readonly name = 'OptionError';
}

/**
 * A duration option, in ms. Strings are durations (`'500ms'`, `'30s'`, `'5m'`, `'24h'`, `'7d'`);
 * numbers are seconds, as in stripe-node's and svix's `tolerance` (so `300` is five minutes).
 */
export function duration(name: string, value: string | number | undefined, fallback: string, min = 0): number {
  const v = value ?? fallback;
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new OptionError(`createReceiver: ${name} must be ≥ 0 seconds; got ${v}.`);
    ms = Math.round(v * 1000);
  } else if (typeof v === 'string') {
    try {
      ms = parseDuration(v);
    } catch {
      throw new OptionError(
        `createReceiver: ${name} must be a duration such as '500ms', '30s', '5m', '24h' or '7d', or a number of seconds; got ${JSON.stringify(v)}.`,
      );
    }
  } else {
    throw new OptionError(`createReceiver: ${name} must be a duration string or a number of seconds.`);
  }
  if (ms < min) throw new OptionError(`createReceiver: ${name} must be at least ${min} ms; got ${JSON.stringify(v)}.`);
  return ms;
}

/** A whole number option of at least `min`. */
export function integer(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new OptionError(`createReceiver: ${name} must be a whole number ≥ ${min}; got ${JSON.stringify(v)}.`);
  }
  return v;
}

/** A time given as a Date, an ISO-8601 string or ms since the epoch; `what` names it in the error. */
export function instantOf(what: string, value: Date | string | number): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new OptionError(
      `${what} must be a Date, an ISO-8601 time (e.g. '2026-11-27T00:00:00Z') or ms since the epoch; got ${JSON.stringify(value)}.`,
    );
  }
  return ms;
}

export function func(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    throw new OptionError(`createReceiver: ${name} must be a function.`);
}
