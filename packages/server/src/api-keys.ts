import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@herald/protocol';
import type { Config } from './config.js';
import type { ApiKeyRecord, Role, Store } from './store/types.js';

/** API keys: `hk_` + 32 random bytes (base64url). Only the SHA-256 is stored; the text is shown once. */

export const API_KEY_PREFIX = 'hk_';

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The record of a key; `prefix` is what lists show to tell keys apart. */
export function apiKeyRecord(key: string, accountId: string, role: Role, createdAt: number): ApiKeyRecord {
  return {
    id: newId('apiKey', createdAt),
    accountId,
    role,
    prefix: key.slice(0, API_KEY_PREFIX.length + 6),
    hash: hashApiKey(key),
    createdAt,
    revokedAt: null,
  };
}

/**
 * When no active admin key exists (none yet, or all revoked): makes an admin key, from
 * HERALD_BOOTSTRAP_KEY if set, else a new one (see Store.createFirstApiKey for its account).
 * Returns the key's text only when it was generated here, so the caller can print it once. Several
 * processes starting at once on one database make one key.
 */
export async function ensureFirstKey(store: Store, config: Config): Promise<string | undefined> {
  if ((await store.countActiveAdminKeys()) > 0) return undefined;
  const now = config.clock.now();
  const key = config.bootstrapKey ?? generateApiKey();
  const made = await store.createFirstApiKey(apiKeyRecord(key, newId('account', now), 'admin', now));
  return made && !config.bootstrapKey ? key : undefined;
}
