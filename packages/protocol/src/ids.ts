import { randomBytes } from 'node:crypto';

/**
 * Prefixed, time-sortable ids: `evt_` + 26 Crockford base32 characters (48 bits of milliseconds,
 * then 80 random bits, as a ULID). Ids made in one process sort in the order they were made,
 * also within one millisecond, because the random part is incremented instead of redrawn.
 */

export const ID_PREFIXES = {
  event: 'evt',
  endpoint: 'ep',
  delivery: 'dlv',
  attempt: 'att',
  request: 'req',
  apiKey: 'key',
  account: 'acct',
  job: 'job',
  connection: 'con',
  portalSession: 'ps',
  alert: 'alrt',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
const lastRandom = new Uint8Array(10);

function nextRandom(now: number): Uint8Array {
  if (now === lastTime) {
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      lastRandom[i] = ((lastRandom[i] ?? 0) + 1) & 0xff;
      if (lastRandom[i] !== 0) break;
    }
  } else {
    lastTime = now;
    lastRandom.set(randomBytes(10));
  }
  return lastRandom;
}

/** The 26-character sortable part of an id, for the time `now` (ms). */
export function ulid(now: number = Date.now()): string {
  const time = Math.max(now, lastTime);
  const random = nextRandom(time);
  let out = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  // 80 random bits as 16 base32 characters.
  let bits = 0;
  let value = 0;
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

export function newId(kind: IdKind, now?: number): string {
  return `${ID_PREFIXES[kind]}_${ulid(now)}`;
}

/**
 * The smallest id of that kind made at or after `ms`: ids sort by time, so `id >= firstIdAt(kind, t)`
 * is a range on any index of ids.
 */
export function firstIdAt(kind: IdKind, ms: number): string {
  let out = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return `${ID_PREFIXES[kind]}_${out}${'0'.repeat(16)}`;
}

/** Whether `id` has the shape of an id of that kind. */
export function isId(kind: IdKind, id: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_[${ALPHABET}]{26}$`).test(id);
}

/** The millisecond time an id was made at. */
export function idTime(id: string): number {
  const part = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
  let t = 0;
  for (const ch of part) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}
