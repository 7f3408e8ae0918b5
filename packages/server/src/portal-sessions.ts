import { randomBytes } from 'node:crypto';
import { newId } from '@herald/protocol';
import { hashApiKey } from './api-keys.js';
import type { PortalSessionRecord } from './store/types.js';

/**
 * Portal session tokens: `hps_` + 32 random bytes (base64url), a bearer credential for /v1 scoped
 * to one tenant. Stored as the SHA-256, like API keys; the text is handed out once, in the portal URL.
 */
export const PORTAL_TOKEN_PREFIX = 'hps_';

/** The bounds of `expires_in`, seconds: 5 minutes to 7 days, 1 day by default (as Svix's App Portal). */
export const PORTAL_SESSION_MIN_S = 300;
export const PORTAL_SESSION_MAX_S = 7 * 24 * 60 * 60;
export const PORTAL_SESSION_DEFAULT_S = 24 * 60 * 60;

export function isPortalToken(token: string): boolean {
  return token.startsWith(PORTAL_TOKEN_PREFIX);
}

/** A new session of `tenantId`: its token (shown once) and the record to store. */
export function newPortalSession(session: {
  accountId: string;
  tenantId: string;
  readOnly: boolean;
  now: number;
  expiresInS: number;
}): { token: string; record: PortalSessionRecord } {
  const token = PORTAL_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return {
    token,
    record: {
      id: newId('portalSession', session.now),
      accountId: session.accountId,
      tenantId: session.tenantId,
      hash: hashApiKey(token),
      readOnly: session.readOnly,
      createdAt: session.now,
      expiresAt: session.now + session.expiresInS * 1000,
    },
  };
}
