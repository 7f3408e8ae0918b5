import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '@herald/protocol';
import { HeraldError } from '@herald/protocol';
import type { FastifyRequest } from 'fastify';
import { hashApiKey } from '../api-keys.js';
import { isPortalToken } from '../portal-sessions.js';
import type { ApiKeyRecord, Role, Store } from '../store/types.js';

/**
 * Bearer API keys. Only the SHA-256 of a key is stored; a request's key is hashed and looked up.
 * Every route reads its account from here, so another account's resource is simply not found.
 */

export interface Caller {
  accountId: string;
  /** The API key's id, or the portal session's (rate limits are per credential). */
  keyId: string;
  /** A read-only portal session has the `read` role; any other the `admin` role within its tenant. */
  role: Role;
  /** A portal session's tenant: the caller sees and changes only that tenant's resources (scope.ts). */
  tenantId?: string | undefined;
}

/**
 * Known keys are kept for a short while so that a publish does not cost a key lookup. A key
 * revoked through this process is dropped at once; one revoked through another process stops
 * working within CACHE_TTL_MS.
 */
const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

export interface Authenticator {
  /** The caller of a request; throws 401 without a valid key, 403 for a `read` key that writes. */
  authenticate(request: FastifyRequest): Promise<Caller>;
  /** Forget a key (after revoking it). */
  forget(keyId: string): void;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

interface CacheEntry {
  key: ApiKeyRecord;
  until: number;
}

export function createAuthenticator(store: Store, clock: Clock): Authenticator {
  const cache = new Map<string, CacheEntry>();
  // The same entries by the raw Authorization header that found them, so that a repeated header
  // costs neither the parsing nor the hashing; an entry expires (or is forgotten) in both at once.
  const byHeader = new Map<string, CacheEntry>();

  async function lookup(hash: string): Promise<CacheEntry | undefined> {
    const now = clock.now();
    const cached = cache.get(hash);
    if (cached && cached.until > now) return cached;
    const key = await store.findApiKeyByHash(hash);
    if (key && key.revokedAt === null) {
      if (cache.size >= CACHE_MAX) cache.clear();
      const entry = { key, until: now + CACHE_TTL_MS };
      cache.set(hash, entry);
      return entry;
    }
    cache.delete(hash);
    return key && { key, until: 0 };
  }

  function callerFor(key: ApiKeyRecord, request: FastifyRequest): Caller {
    if (key.role !== 'admin' && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HeraldError('PERMISSION_DENIED', 'This API key has the `read` role: it may only make GET requests.');
    }
    return { accountId: key.accountId, keyId: key.id, role: key.role };
  }

  async function portalCaller(hash: string, request: FastifyRequest): Promise<Caller> {
    const session = await store.findPortalSessionByHash(hash);
    const same = session !== undefined && timingSafeEqual(Buffer.from(session.hash, 'hex'), Buffer.from(hash, 'hex'));
    if (!session || !same || session.expiresAt <= clock.now()) {
      throw new HeraldError(
        'AUTHENTICATION_FAILED',
        'authorization: the portal session has expired or has been ended; ask for a new portal link.',
      );
    }
    if (session.readOnly && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HeraldError('PERMISSION_DENIED', 'This portal session is read-only: it may only make GET requests.');
    }
    return {
      accountId: session.accountId,
      keyId: session.id,
      role: session.readOnly ? 'read' : 'admin',
      tenantId: session.tenantId,
    };
  }

  return {
    async authenticate(request) {
      const header = request.headers.authorization;
      if (typeof header === 'string') {
        const known = byHeader.get(header);
        if (known !== undefined) {
          if (known.until > clock.now()) return callerFor(known.key, request);
          byHeader.delete(header);
        }
      }
      const match = typeof header === 'string' ? BEARER.exec(header) : null;
      if (!match?.[1]) {
        throw new HeraldError(
          'AUTHENTICATION_FAILED',
          'authorization: send your API key as `Authorization: Bearer <key>`.',
        );
      }
      const hash = hashApiKey(match[1]);
      // Portal sessions are not cached: ending one (or its expiry) takes effect at the next request.
      if (isPortalToken(match[1])) return portalCaller(hash, request);
      const entry = await lookup(hash);
      const key = entry?.key;
      // The lookup is by hash; the comparison that decides is still constant-time.
      const same = key !== undefined && timingSafeEqual(Buffer.from(key.hash, 'hex'), Buffer.from(hash, 'hex'));
      if (!key || !same || key.revokedAt !== null) {
        throw new HeraldError('AUTHENTICATION_FAILED', 'authorization: the API key is unknown or has been revoked.');
      }
      if (entry.until > 0 && typeof header === 'string') {
        if (byHeader.size >= CACHE_MAX) byHeader.clear();
        byHeader.set(header, entry);
      }
      return callerFor(key, request);
    },
    forget(keyId) {
      for (const [hash, entry] of cache) if (entry.key.id === keyId) cache.delete(hash);
      for (const [header, entry] of byHeader) if (entry.key.id === keyId) byHeader.delete(header);
    },
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key (health, metrics, the dashboard's files); every other route needs one. */
    public?: boolean;
  }
}

const callers = new WeakMap<FastifyRequest, Caller>();

export function setCaller(request: FastifyRequest, caller: Caller): void {
  callers.set(request, caller);
}

/** The authenticated caller of a request to a route that is not `public`. */
export function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (!caller) throw new Error('callerOf() on a request that was not authenticated: is the route `public`?');
  return caller;
}

/** For GET routes only admins may use (reading secrets, listing keys). */
export function requireAdmin(request: FastifyRequest): Caller {
  const caller = callerOf(request);
  if (caller.role !== 'admin') {
    throw new HeraldError('PERMISSION_DENIED', 'This route needs an API key with the `admin` role.');
  }
  return caller;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A portal session may call this route: it reads and writes only through the request's scope
     * (scope.ts), so it sees one tenant's resources. Every other authenticated route answers a
     * portal session 403: operator-only by default.
     */
    tenantScoped?: boolean;
  }
}

/** The 403 of an operator-only route called with a portal session. */
export function requireOperator(request: FastifyRequest, caller: Caller): void {
  if (caller.tenantId !== undefined && request.routeOptions.config.tenantScoped !== true) {
    throw new HeraldError(
      'PERMISSION_DENIED',
      'A portal session cannot use this route: it needs an API key (API keys, tenants, portal sessions and publishing are operator-only).',
    );
  }
}
