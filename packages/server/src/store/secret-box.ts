import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';

/**
 * Endpoint secrets at rest: AES-256-GCM under one 32-byte key, so the database file (or a dump of
 * it) alone does not reveal them. Both stores call `seal` when they write `secret` and
 * `previous_secret` and `open` when they read them (store/rows.ts); nothing else sees ciphertext.
 *
 * Stored form: `enc:v1:<base64 of iv (12 bytes) | ciphertext | tag (16 bytes)>`. A value without
 * the prefix is a row written before encryption existed and is returned as it is.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(stored: string): string;
}

const PREFIX = 'enc:v1:';
/**
 * Opened secrets kept by their stored form, which is new at every seal (a random IV), so a changed
 * secret is a new entry. Every publish reads its account's endpoints and every claim its endpoints'
 * secrets: measured at 5,000 events/s across 50 endpoints, deciphering took ~5 % of the SQLite
 * thread's time. A chosen bound: more endpoints than this are read again once it is passed.
 */
const OPENED_MAX = 10_000;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
}

export function createSecretBox(key: Buffer, source = 'the secret key'): SecretBox {
  if (key.length !== 32) throw new SecretKeyError(`${source} must be 32 bytes; it is ${key.length}.`);
  const opened = new Map<string, string>();
  return {
    seal(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const known = opened.get(stored);
      if (known !== undefined) return known;
      const plain = decipher(stored);
      if (opened.size >= OPENED_MAX) opened.clear();
      opened.set(stored, plain);
      return plain;
    },
  };

  function decipher(stored: string): string {
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    try {
      const gcm = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      gcm.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([gcm.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), gcm.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(
        `An endpoint secret in the database cannot be decrypted with ${source}: it is not the key the secrets were encrypted with.`,
      );
    }
  }
}

/** HERALD_SECRET_KEY's text: 64 hex digits, or the base64 of 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,43}={0,2}$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === 32) return key;
  }
  throw new SecretKeyError(
    'HERALD_SECRET_KEY must be 32 bytes written as 64 hex digits or as base64 (e.g. `openssl rand -base64 32`).',
  );
}

/**
 * Reads the key file, or creates it with mode 0600. Written whole under a name of its own, then
 * linked to its name: link() fails if the key file exists, so of processes starting at once one
 * makes it, and none reads it before its key is in it (creating the name first and then writing
 * the key let another process read it empty).
 */
export function loadOrCreateKeyFile(path: string): Buffer {
  if (!existsSync(path)) {
    const draft = `${path}.${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      const fd = openSync(draft, 'wx', 0o600);
      try {
        writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
        fsyncSync(fd); // the name never points at a key that is not on disk
      } finally {
        closeSync(fd);
      }
      chmodSync(draft, 0o600); // the umask may have narrowed it further, never widened it; make it exact
      linkSync(draft, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(draft, { force: true });
    }
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new SecretKeyError(`The key file ${path} does not hold a 32-byte base64 key.`);
  return key;
}

/**
 * The box for a store: HERALD_SECRET_KEY when set; otherwise, for a SQLite file, the key file
 * `<db>.key` beside it (created on first start); an in-memory database gets a key that lives as long
 * as the process. PostgreSQL without HERALD_SECRET_KEY is refused: a key file on one machine would
 * not serve the other processes that share the database.
 */
export function secretBoxFor(db: string, secretKey: string | undefined): SecretBox {
  if (secretKey !== undefined && secretKey !== '')
    return createSecretBox(parseSecretKey(secretKey), 'HERALD_SECRET_KEY');
  if (/^postgres(ql)?:\/\//.test(db)) {
    throw new SecretKeyError(
      'HERALD_SECRET_KEY is required with a PostgreSQL database: endpoint secrets are encrypted under it, and every ' +
        'process sharing the database needs the same key (make one with `openssl rand -base64 32`).',
    );
  }
  if (db === ':memory:') return createSecretBox(randomBytes(32), 'a per-process key');
  const path = `${db}.key`;
  return createSecretBox(loadOrCreateKeyFile(path), `the key file ${path}`);
}
