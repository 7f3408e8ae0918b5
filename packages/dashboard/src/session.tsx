import { createContext, useContext } from 'react';
import type { Api, Role } from './api.js';
import { PORTAL } from './router.js';

/** The signed-in key lives in sessionStorage: it ends with the tab, and never goes into a URL. */
const STORAGE_KEY = 'herald.session';

export interface Session {
  key: string;
  role: Role;
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    return typeof session.key === 'string' && (session.role === 'admin' || session.role === 'read') ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export const READ_ONLY_REASON = PORTAL
  ? 'This portal session is read-only: it may only view.'
  : 'This API key has the read role: it may only view. Sign in with an admin key to change anything.';

export interface SessionContext {
  api: Api;
  role: Role;
}

export const SessionContextValue = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const value = useContext(SessionContextValue);
  if (!value) throw new Error('useSession() outside a signed-in dashboard');
  return value;
}
